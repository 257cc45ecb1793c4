"""The floor: the same stack (Flask under gunicorn, same workers and threads) doing the least a
CDS endpoint can do — parse the same JSON body and answer {"cards": []}. Our service is judged
as a ratio to this, so the numbers say what our own work costs, not what the machine is."""

from __future__ import annotations

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/cds-services/<service_id>")
    def invoke(service_id: str):
        request.get_json(force=True)
        return jsonify(cards=[])

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app
