"""A plain camera as a barcode reader: OpenCV frames, zxing-cpp or zbar decoding, deskew."""

from drivers.camera.decoders import BACKENDS, Decoder, decode, make_decoder
from drivers.camera.reader import CameraReader

__all__ = ["BACKENDS", "CameraReader", "Decoder", "decode", "make_decoder"]
