"""nginx, twice: the fixed-response mock upstream (OpenAI chat JSON and SSE with a usage chunk, served by
`return 200` so it costs next to nothing) and a plain proxy hop in front of it."""
import json
import os
import shutil
import subprocess

from bench.procs import free_port, stop, wait_for_port

MODEL = "gpt-4o-mini"
STREAM_MODEL = "gpt-4o-mini-2024-07-18"
PROMPT_TOKENS, COMPLETION_TOKENS = 12, 8
REPLY = ["Hello", " from", " the", " benchmark", " upstream", "."]


def chat_json() -> str:
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(REPLY)},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                  "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
    }, separators=(",", ":"))


def chat_sse() -> str:
    """A role chunk, one chunk per word, a finish chunk, the usage chunk (empty choices), [DONE]."""
    def chunk(choices, usage=None):
        return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
                "model": STREAM_MODEL, "choices": choices, "usage": usage}
    events = [chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    events += [chunk([{"index": 0, "delta": {"content": w}, "finish_reason": None}]) for w in REPLY]
    events.append(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(chunk([], {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                             "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}))
    lines = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events]
    return "".join(lines) + "data: [DONE]\n\n"


def _quoted(text: str) -> str:
    """An nginx single-quoted string (nginx turns \\n back into a newline)."""
    assert "'" not in text and "\\" not in text
    return "'" + text.replace("\n", "\\n") + "'"


def _main_conf(prefix: str, workers: int, http_body: str) -> str:
    return f"""
worker_processes {workers};
daemon off;
user root;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http_body}
}}
"""


def upstream_conf(prefix, port, workers) -> str:
    return _main_conf(prefix, workers, f"""
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location = /json/v1/chat/completions {{
            default_type application/json;
            return 200 {_quoted(chat_json())};
        }}
        location = /sse/v1/chat/completions {{
            default_type text/event-stream;
            add_header Cache-Control no-cache;
            return 200 {_quoted(chat_sse())};
        }}
        location / {{ return 404; }}
    }}""")


def proxy_conf(prefix, port, upstream_port, workers) -> str:
    return _main_conf(prefix, workers, f"""
    upstream mock {{ server 127.0.0.1:{upstream_port}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}""")


class Nginx:
    def __init__(self, workdir, name, conf_for_port):
        self.prefix = os.path.join(workdir, name)
        os.makedirs(self.prefix, exist_ok=True)
        self.port = free_port()
        self.name = name
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf_for_port(self.prefix, self.port))
        self.process = None

    def start(self):
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        with open(os.path.join(self.prefix, "stderr.log"), "w") as err:
            self.process = subprocess.Popen([binary, "-p", self.prefix, "-c", self.conf],
                                            stdout=subprocess.DEVNULL, stderr=err)
        wait_for_port(self.port, self.process, 20, f"nginx ({self.name})")
        return self

    @property
    def pids(self):
        return [self.process.pid]

    def stop(self):
        stop(self.process)


# One worker answers some 150,000 fixed answers a second on loopback, 25 times the fastest gateway here.
# A second one adds nothing the gateways could use, only one more process waking on both cores: beside
# Tollgate's 2 workers, each worker's CPU per request grew by about 8 % from 1 worker to 2 with a 2-worker
# upstream, by about 2.5 % with this one (alternating 3-s cells at concurrency 50).
UPSTREAM_WORKERS = 1


def start_upstream(workdir) -> Nginx:
    """The fixed-answer upstream every target calls."""
    return Nginx(workdir, "upstream", lambda prefix, port: upstream_conf(prefix, port, UPSTREAM_WORKERS)).start()
