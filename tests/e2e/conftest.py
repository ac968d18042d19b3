"""A real ``loopml`` server on loopback (sign-in required) over the diabetes clinics'
world, and Playwright driving the system's Chromium against it."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from tests.servers import free_port
from tests.ui import world as world_module
from tests.ui.conftest import PASSWORD, PEOPLE

from loopml._context import Context
from loopml.auth import users

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture
def site(sqlite_ctx, tmp_path):
    """The world, a project file whose policy keeps the clinics' model, and the shocked
    clinic's labelled traffic since the shock in the prediction log."""
    import uvicorn
    from tests.ui.test_retrain import POLICY

    from loopml.server import create_app

    for name, role in PEOPLE.items():
        users.add_user(sqlite_ctx.store, name, role=role, password=PASSWORD, actor="setup")
    world = world_module.build(sqlite_ctx.store)
    world_module.log_shocked_traffic(sqlite_ctx, "region=north")
    project = tmp_path / "loopml.yaml"
    project.write_text(POLICY)
    context = Context(
        sqlite_ctx.settings.model_copy(update={"auth": True, "project_file": project})
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(context=context), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", world
    server.should_exit = True
    thread.join(timeout=30)
    context.close()


@pytest.fixture(scope="module")  # Playwright's loop must end before other tests run asyncio
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(params=["light"])
def page(chromium, request):
    context = chromium.new_context(
        viewport={"width": 1360, "height": 900},
        color_scheme=request.param,
        timezone_id="Europe/Berlin",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


class Camera:
    """Saves a full-page screenshot of each page a test visits, named test-step."""

    def __init__(self, page, test: str) -> None:
        self.page, self.test, self.count = page, test, 0
        SCREENSHOTS.mkdir(exist_ok=True)

    def shot(self, name: str) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.test}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def camera(page, request):
    return Camera(page, request.node.originalname.removeprefix("test_"))
