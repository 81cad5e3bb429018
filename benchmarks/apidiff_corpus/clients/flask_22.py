"""A Flask app factory written for Flask 2.2."""

import flask


def create_app():
    app = flask.Flask(__name__)

    @app.route("/hello")
    def hello():
        return flask.jsonify(message="hi")

    return app


def check_routes():
    client = create_app().test_client()
    assert client.get("/hello").get_json() == {"message": "hi"}


def check_before_first_request():
    app = create_app()

    @app.before_first_request
    def warm_up():
        pass


def check_json_encoder():
    from flask.json import JSONEncoder

    class Encoder(JSONEncoder):
        pass

    assert Encoder


def check_config():
    app = create_app()
    app.config.from_mapping(SECRET_KEY="x")
    assert app.config["SECRET_KEY"] == "x"
