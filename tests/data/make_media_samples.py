"""Write the dev fake's sample media to bot/web/static/dev/: a photo of a letter, a voice message, a PDF.

Run once from the repository's root (`.venv/bin/python tests/data/make_media_samples.py`);
the files are committed. Pure Python, nothing downloaded.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent.parent / "bot" / "static" / "dev"


def png() -> bytes:
    """A 96x128 sheet of paper: grey border, a blue letterhead, lines of grey text."""
    width, height = 96, 128
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            if x < 4 or x >= width - 4 or y < 4 or y >= height - 4:
                pixel = (120, 120, 120)
            elif 10 <= y < 22 and 10 <= x < 50:
                pixel = (40, 90, 170)
            elif y >= 32 and (y - 32) % 10 < 3 and 10 <= x < width - 10 - ((y * 7) % 23):
                pixel = (90, 90, 90)
            else:
                pixel = (255, 255, 255)
            row += bytes(pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


def mp3() -> bytes:
    """About a second of silence: MPEG-1 Layer III, 32 kbit/s, 32 kHz, mono, 144-byte frames.

    A frame whose side information and main data are all zero decodes as silence.
    """
    header = bytes([0xFF, 0xFB, 0x18, 0xC4])
    return (header + bytes(144 - len(header))) * 28  # 28 frames of 1152 samples at 32 kHz


def pdf() -> bytes:
    """One page that says it is a sample letter."""
    stream = b"BT /F1 14 Tf 30 120 Td (Relais: sample letter) Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in (("photo.png", png()), ("voice.mp3", mp3()), ("letter.pdf", pdf())):
        (OUT / name).write_bytes(data)
