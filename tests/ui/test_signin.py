"""Signing in and out of the web UI, its cookies, CSRF, and what a viewer may do."""

from __future__ import annotations

from tests.ui.conftest import PASSWORD, csrf, sign_in

from loopml import audit
from loopml.auth import users


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


def test_a_failed_sign_in_of_an_unknown_name_is_audited_without_what_was_typed(ctx, browser):
    """What was typed as the name may be a password typed in the wrong field."""
    from loopml.auth.throttle import MAX_FAILURES

    typed = "Tr0ub4dor&3 horse"
    for _ in range(MAX_FAILURES):
        assert sign_in(browser, typed, "my user name").status_code == 200
    assert sign_in(browser, typed, "my user name").status_code == 429
    refused = audit.list_events(ctx.store, action="user.sign_in_refused")
    throttled = audit.list_events(ctx.store, action="user.sign_in_throttled")
    assert len(refused) == MAX_FAILURES and len(throttled) == 1
    for event in (*refused, *throttled):
        assert (event.actor, event.entity_id) == ("anonymous", "unknown user")
        assert "from testclient" in event.reason
    everything = repr([e.__dict__ for e in audit.list_events(ctx.store)])
    assert "Tr0ub4dor" not in everything and "my user name" not in everything


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
    forged = browser.post(
        f"/ui/approvals/{approval}/decide", data={"csrf": csrf(home.text), "decision": "approve"}
    )
    assert forged.status_code == 403
    refused = audit.list_events(ctx.store, action="access.refuse")
    assert refused[0].actor == "vera" and refused[0].entity_id.startswith("POST /ui/approvals/")
    assert audit.list_events(ctx.store, action="approval.approve") == []


def test_repeated_wrong_passwords_are_refused_for_a_while_with_429_and_audited(ctx, browser):
    from loopml.auth.throttle import MAX_FAILURES

    users.add_user(ctx.store, "pat", role="operator", password=PASSWORD, actor="setup")
    for _ in range(MAX_FAILURES):
        assert sign_in(browser, "pat", "guess").status_code == 200
    held = sign_in(browser, "pat")  # the right password, too late
    assert (
        held.status_code == 429 and "Too many failed sign-ins: try again in 15 minutes" in held.text
    )
    assert 14 * 60 < int(held.headers["Retry-After"]) <= 15 * 60
    assert "loopml_session" not in browser.cookies
    [event] = audit.list_events(ctx.store, action="user.sign_in_throttled")
    assert (event.actor, event.entity_id) == ("pat", "pat")
    assert "5 failed sign-ins of this user name" in event.reason
    assert "from testclient" in event.reason
    assert sign_in(browser, "ada").status_code == 200  # another person at the same desk


def test_a_successful_sign_in_clears_the_count(ctx, browser):
    from loopml.auth.throttle import MAX_FAILURES

    users.add_user(ctx.store, "pat", role="operator", password=PASSWORD, actor="setup")
    for _ in range(MAX_FAILURES - 1):
        sign_in(browser, "pat", "guess")
    assert "Signed in as <strong>pat</strong>" in sign_in(browser, "pat").text
    browser.post("/ui/logout", data={"csrf": csrf(browser.get("/ui/").text)})
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(browser, "pat", "guess").status_code == 200
    assert "Signed in as <strong>pat</strong>" in sign_in(browser, "pat").text
