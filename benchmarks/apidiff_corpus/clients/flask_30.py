"""A Flask app with a blueprint, for Flask 3."""

from flask import Blueprint, Flask, jsonify, request

api = Blueprint("api", __name__, url_prefix="/api")


@api.post("/echo")
def echo():
    return jsonify(request.get_json())


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(TESTING=True)
    app.register_blueprint(api)
    return app


def check_blueprint():
    client = create_app().test_client()
    assert client.post("/api/echo", json={"a": 1}).get_json() == {"a": 1}


def check_errors():
    app = create_app()

    @app.errorhandler(404)
    def missing(error):
        return {"error": "missing"}, 404

    assert app.test_client().get("/nope").status_code == 404
