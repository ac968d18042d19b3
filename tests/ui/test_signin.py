"""Signing in and out of the web UI, its cookies, CSRF, and what a viewer may do."""

from __future__ import annotations

from tests.ui.conftest import csrf, sign_in

from loopml import audit


def test_a_person_signs_in_sees_who_they_are_and_signs_out(ctx, browser):
    answer = browser.get("/ui/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")
    signed = sign_in(browser, "olive")
    assert (
        signed.url.path == "/ui/"
        and "Signed in as <strong>olive</strong> (operator)" in signed.text
    )
    cookie = signed.history[0].headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; behind TLS the cookie is Secure
    assert [e.actor for e in audit.list_events(ctx.store, action="user.sign_in")] == ["olive"]

    session = browser.cookies.get("loopml_session")
    out = browser.post("/ui/logout", data={"csrf": csrf(signed.text)})
    assert out.url.path == "/ui/login" and "loopml_session" not in browser.cookies
    browser.cookies.set("loopml_session", session)  # a copied cookie no longer opens anything
    assert browser.get("/ui/", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_in_words_and_audited(ctx, browser):
    answer = sign_in(browser, "olive", "not the password")
    assert "That name and password were not accepted." in answer.text
    assert "loopml_session" not in browser.cookies
    refused = audit.list_events(ctx.store, action="user.sign_in_refused")
    assert [e.entity_id for e in refused] == ["olive"]


def test_a_script_gets_401_and_a_browser_the_sign_in_page(app, browser):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as script:
        assert script.get("/ui/health").status_code == 401
    answer = browser.get("/ui/health?status=action", follow_redirects=False)
    assert answer.headers["location"] == "/ui/login?next=%2Fui%2Fhealth%3Fstatus%3Daction"


def test_a_form_without_its_csrf_token_is_refused_and_audited(ctx, browser, world):
    sign_in(browser, "olive")
    alert = world.alerts["region=north"]
    answer = browser.post(f"/ui/alerts/{alert}/resolve", data={"resolution": "false_alarm"})
    assert answer.status_code == 403 and "CSRF" in answer.text
    refused = audit.list_events(ctx.store, action="access.refuse")
    assert refused[0].actor == "olive" and "CSRF" in refused[0].reason
    assert audit.list_events(ctx.store, action="alert.resolve") == []


def test_a_viewer_sees_no_buttons_and_a_forged_request_is_refused_and_audited(ctx, browser, world):
    home = sign_in(browser, "vera")
    alert, approval = world.alerts["region=north"], world.approvals[0]
    page = browser.get(f"/ui/alerts/{alert}").text
    assert "False alarm" not in page and "needs an operator" in page
    assert 'value="approve"' not in browser.get(f"/ui/approvals/{approval}").text
    assert 'value="approve"' not in browser.get("/ui/approvals").text
    assert "Roll back" not in browser.get("/ui/models/progression?segment=region%3Dnorth").text
    forged = browser.post(f"/ui/approvals/{approval}/decide",
                          data={"csrf": csrf(home.text), "decision": "approve"})  # fmt: skip
    assert forged.status_code == 403
    refused = audit.list_events(ctx.store, action="access.refuse")
    assert refused[0].actor == "vera" and refused[0].entity_id.startswith("POST /ui/approvals/")
    assert audit.list_events(ctx.store, action="approval.approve") == []
