"""Image handling with Pillow 10."""

from PIL import Image, ImageOps


def check_resize():
    image = Image.new("RGB", (64, 32), "white")
    assert image.resize((8, 4), Image.Resampling.LANCZOS).size == (8, 4)
    assert ImageOps.grayscale(image).mode == "L"


def check_bytes():
    image = Image.frombytes("L", (2, 2), bytes([0, 1, 2, 3]))
    assert list(image.getdata()) == [0, 1, 2, 3]
