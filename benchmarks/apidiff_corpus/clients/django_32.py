"""Helpers of a Django 3.2 project (no settings needed)."""

from django.utils.text import slugify


def check_slugify():
    assert slugify("Hello World") == "hello-world"


def check_force_text():
    from django.utils.encoding import force_text

    assert force_text(b"x") == "x"


def check_ugettext():
    from django.utils.translation import ugettext_lazy

    assert ugettext_lazy


def check_conf_url():
    from django.conf.urls import url

    assert url
