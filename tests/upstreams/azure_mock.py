"""A local Azure OpenAI upstream: OpenAI's answers (see openai_mock) behind deployment URLs, keyed by
the `api-key` header, refusing calls without an api-version."""
from tornado.web import Application

from tests.upstreams.openai_mock import MockHandler, MockState


class AzureHandler(MockHandler):
    @property
    def key(self):
        return self.request.headers.get("api-key", "")

    async def post(self, deployment, kind):
        if not self.get_query_argument("api-version", ""):
            self.set_status(404)
            return self.finish({"error": {"code": "404", "message": "Resource not found"}})
        self.state.deployments.append((deployment, self.get_query_argument("api-version")))
        return await super().post(kind)


def make_azure_app(state: MockState) -> Application:
    state.deployments = []
    return Application([(r"/openai/deployments/([^/]+)/(chat/completions|completions|embeddings)", AzureHandler,
                         {"state": state})])
