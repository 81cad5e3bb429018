"""Markdown rendering with an extension, written for Markdown 3.3."""

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor


class Shout(Treeprocessor):
    def run(self, root):
        for element in root.iter("p"):
            element.text = (element.text or "").upper()


class ShoutExtension(Extension):
    def extendMarkdown(self, md):
        md.treeprocessors.register(Shout(md), "shout", 5)


def check_render():
    assert markdown.markdown("*hi*") == "<p><em>hi</em></p>"


def check_extension():
    assert markdown.markdown("hi", extensions=[ShoutExtension()]) == "<p>HI</p>"


def check_util_etree():
    from markdown.util import etree

    assert etree.Element("p").tag == "p"
