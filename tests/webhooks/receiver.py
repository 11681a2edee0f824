"""A local callback endpoint for tests and benchmarks: records every request and answers as scripted per path."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


class Receiver:
    """An HTTP server on 127.0.0.1 in daemon threads. Each path answers its scripted answers in turn, then repeats
    the last one; unscripted paths answer 200."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = receiver._next_answer(self.path)
                if answer.delay:
                    time.sleep(answer.delay)
                received = Received(
                    path=self.path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                    at=arrived,
                    status=answer.status,
                )
                with receiver._lock:
                    receiver.requests.append(received)
                try:
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up (a timeout under test)

            def log_message(self, format, *args) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self._scripts[path] = list(answers)

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if path is None or request.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self, path: str) -> Answer:
        with self._lock:
            answers = self._scripts.get(path)
            if not answers:
                return Answer()
            return answers.pop(0) if len(answers) > 1 else answers[0]
