"""A local WxPusher: POST /api/send/message records each message and answers as WxPusher does
(HTTP 200 always; body code 1000 when accepted, 1001 for a wrong app token)."""
import ujson
from tornado.web import Application, RequestHandler

APP_TOKEN = "AT_tollgate_test_token"


class WxPusherState:
    def __init__(self, app_token=APP_TOKEN):
        self.app_token = app_token
        self.url = ""
        self.messages = []     # accepted message bodies
        self.refused = []


class SendHandler(RequestHandler):
    def initialize(self, state):
        self.state = state

    def post(self):
        body = ujson.loads(self.request.body)
        self.set_header("Content-Type", "application/json")
        if body.get("appToken") != self.state.app_token:
            self.state.refused.append(body)
            return self.finish({"code": 1001, "msg": "appToken不正确", "data": None, "success": False})
        self.state.messages.append(body)
        data = [{"uid": uid, "topicId": None, "messageId": 1, "messageContentId": 1, "sendRecordId": 1,
                 "code": 1000, "status": "创建发送任务成功"} for uid in body.get("uids") or []]
        data += [{"uid": None, "topicId": t, "messageId": 1, "messageContentId": 1, "sendRecordId": 1,
                  "code": 1000, "status": "创建发送任务成功"} for t in body.get("topicIds") or []]
        self.finish({"code": 1000, "msg": "处理成功", "data": data, "success": True})


def make_wxpusher_app(state: WxPusherState) -> Application:
    return Application([(r"/api/send/message", SendHandler, {"state": state})])
