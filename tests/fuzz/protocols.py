"""One call of simlab.v1.SimulationService in each protocol the gateway serves, each returning the
status code the caller sees ("ok", "invalid_argument", ...): Connect with JSON and with proto
bodies (unary and server-streaming framing), gRPC-Web, and gRPC (HTTP/2, grpcio); plus the
plain-HTTP downloads, whose statuses are mapped to the same names."""

from __future__ import annotations

import json
from typing import Any

import grpc
import requests

SERVICE = "simlab.v1.SimulationService"
GRPC_CODES = {
    0: "ok",
    1: "canceled",
    2: "unknown",
    3: "invalid_argument",
    4: "deadline_exceeded",
    5: "not_found",
    6: "already_exists",
    7: "permission_denied",
    8: "resource_exhausted",
    9: "failed_precondition",
    10: "aborted",
    11: "out_of_range",
    12: "unimplemented",
    13: "internal",
    14: "unavailable",
    15: "data_loss",
    16: "unauthenticated",
}
# Connect's HTTP status -> code, for an error answered without a JSON body; also /files, /code.
HTTP_CODES = {
    200: "ok",
    302: "ok",
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    408: "deadline_exceeded",
    409: "already_exists",
    # A URL or headers too large for the server: refused before routing.
    414: "resource_exhausted",
    421: "permission_denied",
    429: "resource_exhausted",
    431: "resource_exhausted",
    500: "internal",
    501: "unimplemented",
    503: "unavailable",
    504: "deadline_exceeded",
}
# A stream on a running job would follow it: the gateway ends a call after this long.
STREAM_TIMEOUT_MS = 3000
CLIENT_TIMEOUT_S = 30


def envelope(payload: bytes, flags: int = 0) -> bytes:
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def envelopes(body: bytes) -> list[tuple[int, bytes]]:
    found = []
    while len(body) >= 5:
        size = int.from_bytes(body[1:5], "big")
        found.append((body[0], body[5 : 5 + size]))
        body = body[5 + size :]
    return found


def headers_for(token: str | None, content_type: str) -> dict[str, str]:
    headers = {"content-type": content_type, "connect-timeout-ms": str(STREAM_TIMEOUT_MS)}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return headers


class Caller:
    """Sends one request in each protocol to the gateway at `url`."""

    def __init__(self, url: str, grpc_target: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.channel = grpc.insecure_channel(grpc_target)

    def close(self) -> None:
        self.http.close()
        self.channel.close()

    def connect(self, method: str, body: bytes, token: str | None, codec: str, stream: bool) -> str:
        """Connect: `codec` "json" or "proto"; a server-streaming method's request enveloped."""
        url = f"{self.url}/{SERVICE}/{method}"
        if not stream:
            answer = self.http.post(
                url,
                data=body,
                headers=headers_for(token, f"application/{codec}"),
                timeout=CLIENT_TIMEOUT_S,
            )
            if answer.status_code == 200:
                return "ok"
            return _connect_error(answer)
        answer = self.http.post(
            url,
            data=envelope(body),
            headers=headers_for(token, f"application/connect+{codec}"),
            timeout=CLIENT_TIMEOUT_S,
        )
        if answer.status_code != 200:
            return _connect_error(answer)
        for flags, payload in envelopes(answer.content):
            if flags & 0b10:
                error = json.loads(payload or b"{}").get("error")
                return str(error["code"]) if error else "ok"
        return "no end of stream"

    def grpc_web(self, method: str, body: bytes, token: str | None) -> str:
        headers = headers_for(token, "application/grpc-web+proto") | {
            "x-grpc-web": "1",
            "grpc-timeout": f"{STREAM_TIMEOUT_MS}m",
        }
        answer = self.http.post(
            f"{self.url}/{SERVICE}/{method}",
            data=envelope(body),
            headers=headers,
            timeout=CLIENT_TIMEOUT_S,
        )
        if "grpc-status" in answer.headers:
            return GRPC_CODES.get(int(answer.headers["grpc-status"]), "?")
        if answer.status_code != 200:
            return HTTP_CODES.get(answer.status_code, f"http {answer.status_code}")
        for flags, payload in envelopes(answer.content):
            if flags & 0x80:
                trailers = dict(
                    line.split(":", 1) for line in payload.decode().split("\r\n") if ":" in line
                )
                return GRPC_CODES.get(int(trailers["grpc-status"].strip()), "?")
        return "no trailers"

    def grpc(self, method: str, body: bytes, token: str | None, stream: bool) -> str:
        metadata = [("authorization", f"Bearer {token}")] if token is not None else []
        path = f"/{SERVICE}/{method}"
        timeout = STREAM_TIMEOUT_MS / 1000
        try:
            if stream:
                call: Any = self.channel.unary_stream(path)
                for _ in call(body, metadata=metadata, timeout=timeout):
                    pass
            else:
                self.channel.unary_unary(path)(body, metadata=metadata, timeout=CLIENT_TIMEOUT_S)
        except grpc.RpcError as error:
            return str(error.code().name.lower())
        return "ok"

    def download(self, path: str, token: str | None, query: dict[str, str]) -> str:
        headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        answer = self.http.get(
            f"{self.url}{path}",
            params=query,
            headers=headers,
            allow_redirects=False,
            stream=True,
            timeout=CLIENT_TIMEOUT_S,
        )
        answer.close()
        return HTTP_CODES.get(answer.status_code, f"http {answer.status_code}")


def _connect_error(answer: requests.Response) -> str:
    try:
        return str(answer.json()["code"])
    except (ValueError, KeyError, TypeError):
        return HTTP_CODES.get(answer.status_code, f"http {answer.status_code}")
