"""The critical-alarm sound, made here (no audio file to ship): a two-tone chime as WAV."""

from __future__ import annotations

import functools
import io
import math
import struct
import wave


@functools.cache
def alarm_wav(rate: int = 16_000) -> bytes:
    """Three short 880/660 Hz beeps, 16-bit mono WAV."""
    frames = bytearray()
    for tone in (880, 660, 880):
        for i in range(int(rate * 0.18)):
            fade = min(1.0, i / 200, (rate * 0.18 - i) / 200)
            sample = int(12_000 * fade * math.sin(2 * math.pi * tone * i / rate))
            frames += struct.pack("<h", sample)
        frames += b"\0\0" * int(rate * 0.06)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()
