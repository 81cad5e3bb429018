"""Template helpers of a Flask 2.3 app."""

import flask


def check_markup():
    from flask import Markup

    assert Markup("<b>x</b>")


def check_escape():
    assert str(flask.escape("<")) == "&lt;"


def check_app():
    app = flask.Flask(__name__)

    @app.get("/")
    def index():
        return flask.render_template_string("{{ x }}", x=1)

    assert app.test_client().get("/").data == b"1"
