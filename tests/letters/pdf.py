"""Reading the letters back as a person would: the text of a PDF (``pdftotext``), its fonts
(``pdffonts``), and a page image's pixels (PNG decoded here, so no imaging library is needed)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray


def need(tool: str) -> str:
    """The tool's path; the test is skipped, saying why, when poppler-utils is not installed."""
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed (apt-get install poppler-utils; .ci/run installs it)")
    return found


def _run(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "letter.pdf"
        path.write_bytes(pdf)
        done = subprocess.run([need(tool), *args, str(path), "-"], capture_output=True, text=True, check=True)
        return done.stdout


def text_of(pdf: bytes) -> str:
    """The PDF's text in reading order, with lines kept (``pdftotext -layout``), spaces squeezed."""
    raw = _run("pdftotext", pdf, "-layout", "-enc", "UTF-8")
    return "\n".join(" ".join(line.split()) for line in raw.splitlines())


def pages_of(pdf: bytes) -> list[str]:
    """The text of each page, as :func:`text_of` (pdftotext ends every page with a form feed)."""
    raw = _run("pdftotext", pdf, "-layout", "-enc", "UTF-8")
    return ["\n".join(" ".join(line.split()) for line in page.split("\n")) for page in raw.split("\f")[:-1]]


def info_of(pdf: bytes) -> str:
    """The PDF's properties as ``pdfinfo`` lists them (``Title: ...``, ``Author: ...``)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "letter.pdf"
        path.write_bytes(pdf)
        return subprocess.run([need("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout


def fonts_of(pdf: bytes) -> list[tuple[str, bool]]:
    """Each font of the PDF with whether it is embedded (``pdffonts``' ``emb`` column)."""
    tool = need("pdffonts")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "letter.pdf"
        path.write_bytes(pdf)
        out = subprocess.run([tool, str(path)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    found = []
    for row in rows:
        parts = row.split()
        # name type... encoding emb sub uni object ID: the three yes/no columns come before the last two.
        found.append((parts[0], parts[-5] == "yes"))
    return found


def png_pixels(png: bytes) -> NDArray[np.uint8]:
    """The gray levels (0 black to 255 white) of an 8-bit PNG (gray, RGB or RGBA), row by row."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos = 8
    width = height = channels = 0
    data = b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8, f"bit depth {depth}"
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw = zlib.decompress(data)
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw[start + 1 : start + 1 + stride], dtype=np.uint8).astype(np.int32)
        out = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            left = out[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 0:
                value = line[x]
            elif kind == 1:
                value = line[x] + left
            elif kind == 2:
                value = line[x] + up
            elif kind == 3:
                value = line[x] + (left + up) // 2
            else:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                value = line[x] + predictor
            out[x] = value & 0xFF
        rows[y] = out
        previous = out
    pixels = rows.reshape(height, width, channels)
    if channels >= 3:
        gray = pixels[:, :, :3].mean(axis=2)
        if channels == 4:  # transparent is white paper
            alpha = pixels[:, :, 3] / 255
            gray = gray * alpha + 255 * (1 - alpha)
        return gray.astype(np.uint8)
    return pixels[:, :, 0].astype(np.uint8)
