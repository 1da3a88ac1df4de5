"""Cross-origin access for the key-based endpoints that browser tools on other origins call
(neko-api-key-tool and the like): they authenticate with the key itself, never with cookies."""


class CorsMixin:
    def set_default_headers(self):
        super().set_default_headers()
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Access-Control-Allow-Methods", "GET, OPTIONS")
        self.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.set_header("Access-Control-Max-Age", "86400")

    def options(self, *args):
        """The preflight: the headers above say what is allowed."""
        self.set_status(204)
        self.finish()
