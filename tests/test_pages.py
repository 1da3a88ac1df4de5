"""Dashboard pages: served at / and /admin, limited per address, and sent to FRONTEND_BASE_URL on slaves."""
import pytest


class TestOnAMasterNode:
    @pytest.fixture
    def settings_overrides(self):
        return {"global_web_rate_limit": 2, "frontend_base_url": "https://console.example.com"}

    @pytest.mark.gen_test
    async def test_pages_are_served_here_and_limited_per_address(self, gateway):
        first = await gateway.fetch("/")
        assert first.status == 200 and b"/static/user/app.js" in first.body
        assert (await gateway.fetch("/admin")).status == 200
        assert (await gateway.fetch("/")).status == 429
        assert (await gateway.fetch("/static/common/ui.js")).status == 200     # assets are not counted


class TestOnASlaveNode:
    @pytest.fixture
    def settings_overrides(self):
        return {"node_type": "slave", "frontend_base_url": "https://console.example.com/"}

    @pytest.mark.gen_test
    async def test_page_requests_go_to_the_frontend(self, gateway):
        gateway.http.defaults["follow_redirects"] = False
        response = await gateway.fetch("/admin")
        assert response.status == 302
        assert response.headers["Location"] == "https://console.example.com/admin"
        assert (await gateway.fetch("/api/status")).status == 200      # the API is still answered here
