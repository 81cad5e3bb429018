"""Thumbnails and captions with Pillow 9."""

from PIL import Image, ImageDraw, ImageFont


def check_thumbnail():
    image = Image.new("RGB", (64, 32), "white")
    image.thumbnail((16, 16))
    assert image.size == (16, 8)


def check_antialias_constant():
    image = Image.new("RGB", (64, 32))
    assert image.resize((8, 4), Image.ANTIALIAS).size == (8, 4)


def check_text_size():
    font = ImageFont.load_default()
    width, height = font.getsize("hello")
    assert width > 0


def check_draw():
    image = Image.new("L", (10, 10))
    ImageDraw.Draw(image).rectangle((0, 0, 4, 4), fill=255)
    assert image.getpixel((1, 1)) == 255
