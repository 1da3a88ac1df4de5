"""The simple targets: the upstream itself, the nginx proxy hop, the bare Tornado forwarder, LiteLLM's proxy."""
import glob
import os
import secrets
import subprocess
import sys

from bench.nginx import MODEL, STREAM_MODEL, Nginx, proxy_conf
from bench.procs import free_port, stop, wait_for_http, wait_for_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LITELLM_VENV = os.path.join(ROOT, "bench", ".venv-litellm")


class Direct:
    """Requests straight to the mock upstream (path chosen by stream or not)."""

    def __init__(self, name, port, pids):
        self.name, self.port, self._pids = name, port, pids
        self.key = ""

    def start(self):
        return self

    def url(self, stream):
        return f"http://127.0.0.1:{self.port}/{'sse' if stream else 'json'}/v1/chat/completions"

    def model(self, stream):
        return STREAM_MODEL if stream else MODEL

    @property
    def pids(self):
        return self._pids

    def stop(self):
        pass


class NginxHop(Direct):
    def __init__(self, workdir, upstream_port, workers=1):
        self.nginx = Nginx(workdir, "nginx-hop", lambda prefix, port: proxy_conf(prefix, port, upstream_port, workers))
        super().__init__("nginx-hop", self.nginx.port, [])

    def start(self):
        self.nginx.start()
        self._pids = self.nginx.pids
        return self

    def stop(self):
        self.nginx.stop()


class Process(Direct):
    """A target run as one child process listening on its own port."""

    startup_timeout = 30
    ready_path = ""

    def __init__(self, name, workdir, command, env=None):
        super().__init__(name, free_port(), [])
        self.command, self.env, self.workdir = command, env, workdir
        self.process = None

    def start(self):
        log = open(os.path.join(self.workdir, f"{self.name}.log"), "w")
        env = {k: v for k, v in {**os.environ, **(self.env or {})}.items() if v is not None}
        self.process = subprocess.Popen(self.command(self.port), cwd=ROOT, env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port, self.process, self.startup_timeout, self.name)
        self._pids = [self.process.pid]
        if self.ready_path:
            wait_for_http(f"http://127.0.0.1:{self.port}{self.ready_path}", self.process, self.startup_timeout,
                          self.name)
        return self

    def stop(self):
        stop(self.process)


def bare_forwarder(workdir, upstream_port, processes=1):
    name = "bare-tornado" if processes == 1 else f"bare-tornado-{processes}p"
    return Process(name, workdir,
                   lambda port: [sys.executable, "-m", "bench.bare_forwarder", str(port),
                                 f"http://127.0.0.1:{upstream_port}", str(processes)])


def litellm_available() -> str:
    """Empty when LiteLLM can be run, else why not."""
    if not os.path.exists(os.path.join(LITELLM_VENV, ".installed")):
        return "litellm[proxy] is not installed (bench/setup.sh could not install it)"
    return ""


def litellm_version() -> str:
    """The installed LiteLLM's version, from its package metadata (its speed changes between releases)."""
    found = glob.glob(os.path.join(LITELLM_VENV, "lib", "python*", "site-packages", "litellm-*.dist-info"))
    return os.path.basename(found[0])[len("litellm-"):-len(".dist-info")] if found else "unknown"


class LiteLLM(Process):
    startup_timeout = 180
    ready_path = "/health/liveliness"

    def __init__(self, workdir, upstream_port):
        master_key = "sk-" + secrets.token_hex(24)   # LiteLLM refuses to start without one
        config = os.path.join(workdir, "litellm.yaml")
        with open(config, "w") as f:
            f.write(litellm_config(upstream_port))
        super().__init__(
            "litellm", workdir,
            lambda port: [os.path.join(LITELLM_VENV, "bin", "litellm"), "--config", config, "--host", "127.0.0.1",
                          "--port", str(port), "--num_workers", "1"],
            # no database, no telemetry, the price map from the package (no network)
            env={"LITELLM_MASTER_KEY": master_key, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False",
                 "DATABASE_URL": None, "STORE_MODEL_IN_DB": "False"})
        self.key = master_key

    def url(self, stream):
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"


def litellm_config(upstream_port) -> str:
    entries = []
    for model, path in ((MODEL, "json"), (STREAM_MODEL, "sse")):
        entries.append(f"""  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: http://127.0.0.1:{upstream_port}/{path}/v1
      api_key: sk-bench-upstream
""")
    return "model_list:\n" + "".join(entries) + "litellm_settings:\n  telemetry: false\n"
