"""A local midjourney-proxy (plus edition): submits, task fetch and list-by-condition, image seeds,
images, and the notify callback. Tasks move only when the test says so:

  state.advance(task_id, "IN_PROGRESS" | "SUCCESS" | "FAILURE", ...)   change a task as the proxy would
                                                    (host_path="moved": its image URL redirects)
  await state.notify(task_id)                                          POST the task to its notifyHook
  state.refuse = (24, "banned word")                                   refuse the following submits
  state.queue = True                                                   accept with code 22 (queued)
  state.list_fails = True                                              list-by-condition answers 500

Requests must carry `mj-api-secret` equal to `state.secret` (401 with no body otherwise), as the proxy does.
"""
import itertools
import time
import uuid

import ujson
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.web import Application, RequestHandler

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 256     # 64 KiB, enough to arrive in several chunks
SEED = "3316451276"


class MjMockState:
    def __init__(self, secret: str = "mj-secret"):
        self.secret = secret
        self.url = ""
        self.tasks = {}          # id → task object, as the proxy stores it
        self.requests = []       # (method, path, headers, body) of every authorised call
        self.refuse = None
        self.queue = False
        self.list_fails = False
        self.image_requests = []
        self._ids = itertools.count(1)

    def new_task(self, action, prompt, body, mode) -> dict:
        task_id = f"17000000000{next(self._ids):05d}"
        task = {"id": task_id, "action": action, "prompt": prompt, "promptEn": prompt,
                "description": f"/{action.lower()} {prompt}", "state": body.get("state"),
                "status": "SUBMITTED", "progress": "0%", "submitTime": int(time.time() * 1000),
                "startTime": None, "finishTime": None, "imageUrl": None, "failReason": None,
                "buttons": [], "properties": {"notifyHook": body.get("notifyHook"), "mode": mode,
                                              "discordInstanceId": "1"}}
        self.tasks[task_id] = task
        return task

    def advance(self, task_id, status, progress=None, fail_reason="Job failed", image_ext="png",
                host_path="attachments"):
        task = self.tasks[task_id]
        now = int(time.time() * 1000)
        task["status"] = status
        if status == "IN_PROGRESS":
            task.update(startTime=now, progress=progress or "45%",
                        imageUrl=f"{self.url}/attachments/{task_id}-preview.{image_ext}")
        elif status == "SUCCESS":
            task.update(finishTime=now, progress="100%", imageUrl=f"{self.url}/{host_path}/{task_id}.{image_ext}",
                        buttons=[{"customId": f"MJ::JOB::upsample::{i}::{uuid.uuid4()}", "emoji": "",
                                  "label": f"U{i}", "type": 2, "style": 2} for i in range(1, 5)])
            task["properties"]["finalPrompt"] = task["prompt"]
        elif status == "FAILURE":
            task.update(finishTime=now, progress="", failReason=fail_reason)
        return task

    async def notify(self, task_id) -> int:
        """Call the task's notifyHook with the whole task, as the proxy does on every change."""
        hook = self.tasks[task_id]["properties"]["notifyHook"]
        client = AsyncHTTPClient()
        response = await client.fetch(HTTPRequest(hook, "POST", {"Content-Type": "application/json"},
                                                  ujson.dumps(self.tasks[task_id])), raise_error=False)
        return response.code

    @property
    def submits(self):
        return [r for r in self.requests if "/submit/" in r[1]]


class ProxyHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    def prepare(self):
        if self.request.headers.get("mj-api-secret") != self.state.secret:
            self.set_status(401)
            self.finish()
            return
        body = ujson.loads(self.request.body) if self.request.body else {}
        self.state.requests.append((self.request.method, self.request.path, dict(self.request.headers), body))
        self.body = body

    def reply(self, code, description, result=None, **properties):
        self.finish({"code": code, "description": description, "result": result, "properties": properties})


ACTIONS = {"imagine": "IMAGINE", "blend": "BLEND", "describe": "DESCRIBE", "shorten": "SHORTEN",
           "modal": "MODAL"}


class SubmitHandler(ProxyHandler):
    def post(self, mode, kind):
        if self.state.refuse:
            return self.reply(*self.state.refuse)
        parent_id, action = self.follow_up(kind)
        if kind in ("change", "simple-change", "action"):
            parent = self.state.tasks.get(parent_id)
            if parent is None:
                return self.reply(3, "关联任务不存在或已失效")
            if parent["status"] != "SUCCESS":
                return self.reply(4, "关联任务状态错误")
        prompt = self.body.get("prompt") or (self.state.tasks[parent_id]["prompt"] if parent_id else "")
        task = self.state.new_task(action, prompt, self.body, mode)
        if self.state.queue:
            return self.reply(22, "排队中，前面还有1个任务", task["id"], numberOfQueues=1)
        self.reply(1, "提交成功", task["id"], discordInstanceId="1")

    def follow_up(self, kind):
        if kind == "simple-change":
            parent_id, op = self.body["content"].split()
            return parent_id, {"U": "UPSCALE", "V": "VARIATION", "R": "REROLL"}[op[0].upper()]
        if kind == "change":
            return self.body["taskId"], self.body["action"]
        if kind == "action":
            return self.body["taskId"], "UPSCALE" if "upsample" in self.body["customId"] else "VARIATION"
        return self.body.get("taskId"), ACTIONS[kind]


class FetchHandler(ProxyHandler):
    def get(self, mode, task_id):
        self.finish(self.state.tasks.get(task_id) or b"")


class ListHandler(ProxyHandler):
    def post(self, mode):
        if self.state.list_fails:
            self.set_status(500)
            return self.finish({"error": "down"})
        found = [self.state.tasks[i] for i in self.body.get("ids") or [] if i in self.state.tasks]
        self.set_header("Content-Type", "application/json")
        self.finish(ujson.dumps(found))


class SeedHandler(ProxyHandler):
    def get(self, mode, task_id):
        if task_id not in self.state.tasks:
            return self.reply(3, "任务不存在")
        self.reply(1, "成功", SEED)


class ImageHandler(RequestHandler):
    """The image host (Discord's CDN in real life): no secret needed."""

    def initialize(self, state):
        self.state = state

    async def get(self, name):
        self.state.image_requests.append(self.request.path)
        self.set_header("Content-Type", "image/webp" if name.endswith(".webp") else "image/png")
        for start in range(0, len(IMAGE), 16384):
            self.write(IMAGE[start:start + 16384])
            await self.flush()
        self.finish()


class MovedHandler(RequestHandler):
    """An image address that redirects to the real one, as CDNs do."""

    def get(self, name):
        self.redirect(f"/attachments/{name}", status=302)


def make_mj_app(state: MjMockState) -> Application:
    mode = r"(?:/mj-(fast|relax|turbo))?"
    args = {"state": state}
    return Application([
        (mode + r"/mj/submit/([a-z-]+)", SubmitHandler, args),
        (mode + r"/mj/task/list-by-condition", ListHandler, args),
        (mode + r"/mj/task/([^/]+)/fetch", FetchHandler, args),
        (mode + r"/mj/task/([^/]+)/image-seed", SeedHandler, args),
        (r"/attachments/([^/]+)", ImageHandler, args),
        (r"/moved/([^/]+)", MovedHandler),
    ])
