"""A simulated IP camera over the scan field: rendered labels served as HTTP snapshots/MJPEG."""

from simulators.camera.frames import parcel_frame
from simulators.camera.labels import SYMBOLOGIES, label_text, render_label, sscc
from simulators.camera.scene import Distortion, label_frame, render_frame
from simulators.camera.server import CameraSimulator

__all__ = [
    "SYMBOLOGIES",
    "CameraSimulator",
    "Distortion",
    "label_frame",
    "label_text",
    "parcel_frame",
    "render_frame",
    "render_label",
    "sscc",
]
