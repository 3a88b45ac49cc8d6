//! Pictor Cloud, the web app at `/`, over real HTTP against a real coordinator: signing in with an
//! API key gives an HttpOnly, SameSite=Strict session cookie; a wrong key creates nothing; signing
//! out needs the session's CSRF token; every page carries the protective headers; a creator sees
//! only their own jobs (another's job is a 404, like a missing one); user text is shown as text;
//! sign-in attempts are rate-limited. (The same in a real browser is the next step: see
//! docs/ARCHITECTURE.md, "Pictor Cloud".)
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{browser, csrf_of, get, post_form, session_cookie, sign_in};
use common::{Network, small_spec, upload_test_scene};
use pictor_core::api::Role;
use pictor_network::service::Config;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_signs_in_with_a_key_and_out_with_the_csrf_token() {
    let network = Network::start(Config::default()).await;
    let (_, _, key) = network.account_with_key(Role::Creator, "studio").await;
    let url = &network.url;

    let (status, location, _) = get(url, "/", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/signin"));

    let form = browser()
        .get(format!("{url}/signin"))
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), StatusCode::OK);
    let headers = form.headers().clone();
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let body = form.text().await.expect("body");
    assert!(
        body.contains("<label for=\"api_key\">"),
        "the key field has a label"
    );

    // A wrong key: refused, no cookie.
    let refused = sign_in(url, "pk_not_a_key").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get(SET_COOKIE).is_none());
    assert!(refused.text().await.expect("body").contains("not valid"));

    // The right key: a session cookie no script can read and no other site's request carries.
    let signed_in = sign_in(url, &key).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let set = signed_in.headers()[SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    assert!(!set.contains(&key), "the API key is in the cookie");
    let cookie = session_cookie(signed_in.headers());
    let (status, _, page) = get(url, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Rendering") && page.contains("studio"),
        "{page}"
    );

    // Signing out without the session's CSRF token (a forged cross-site form) changes nothing.
    let csrf = csrf_of(&page);
    for forged in ["", "0000", &csrf[..csrf.len() - 1]] {
        let answer = post_form(url, "/signout", Some(&cookie), &[("csrf", forged)]).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "csrf {forged:?}");
    }
    assert_eq!(get(url, "/", Some(&cookie)).await.0, StatusCode::OK);

    // With it: the session ends, the old cookie no longer signs in.
    let out = post_form(url, "/signout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    let (status, location, _) = get(url, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/signin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_only_the_callers_jobs_and_user_text_as_text() {
    let network = Network::start(Config::default()).await;
    let xss = "<script>alert(1)</script>";
    let (creator, _, key) = network.creator_named(xss, 100).await;
    // A worker online, so the job has a market to be priced on.
    network.worker("gpu", 2).await;
    let scene = upload_test_scene(&creator).await;
    let mut spec = small_spec(scene, "1-2");
    // Tags are validated at submission (no markup gets in); the account's name is free text.
    spec.tags.insert("shot:010".to_string());
    let job = creator.jobs().submit(spec).send().await.expect("submit").id;
    let url = &network.url;

    let cookie = session_cookie(sign_in(url, &key).await.headers());
    let (status, _, list) = get(url, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let job_path = format!("/jobs/{}", job.0);
    assert!(list.contains(&format!("href=\"{job_path}\"")), "{list}");
    assert!(!list.contains(xss), "the name reached the page as markup");
    assert!(
        list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{list}"
    );
    assert!(list.contains("shot:010"), "{list}");
    let (status, _, page) = get(url, &job_path, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Frames accepted") && !page.contains(xss),
        "{page}"
    );

    // Another creator: the job is a 404, exactly like one that does not exist.
    let (_, _, other_key) = network.account_with_key(Role::Creator, "rival").await;
    let other = session_cookie(sign_in(url, &other_key).await.headers());
    let (status, _, theirs) = get(url, &job_path, Some(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!theirs.contains("shot:010"), "{theirs}");
    let (missing, _, _) = get(url, "/jobs/987654321", Some(&other)).await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    let (_, _, their_list) = get(url, "/", Some(&other)).await;
    assert!(!their_list.contains(&job_path), "{their_list}");
    // The job's controls: forms with the session's CSRF token, for the owner only.
    assert!(
        page.contains(&format!("action=\"{job_path}/pause\"")),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let forged = post_form(
        url,
        &format!("{job_path}/cancel"),
        Some(&cookie),
        &[("csrf", "0")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let other_csrf = csrf_of(&get(url, "/", Some(&other)).await.2);
    let foreign = post_form(
        url,
        &format!("{job_path}/cancel"),
        Some(&other),
        &[("csrf", &other_csrf)],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let state = |view: pictor_core::api::JobView| view.state;
    assert_eq!(
        state(creator.jobs().get(job).await.expect("job")),
        pictor_core::job::JobState::Queued,
        "a forged or foreign cancel changed the job"
    );
    let paused = post_form(
        url,
        &format!("{job_path}/pause"),
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(paused.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        state(creator.jobs().get(job).await.expect("job")),
        pictor_core::job::JobState::Paused
    );
    let (_, _, page) = get(url, &job_path, Some(&cookie)).await;
    assert!(
        page.contains(&format!("action=\"{job_path}/resume\"")),
        "{page}"
    );
    let resumed = post_form(
        url,
        &format!("{job_path}/resume"),
        Some(&cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(resumed.status(), StatusCode::SEE_OTHER);

    // The live page's event stream: the owner's, nobody else's.
    let events = format!("{job_path}/events");
    let stream = browser()
        .get(format!("{url}{events}"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("answered");
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    let mut first = stream;
    let chunk = first.chunk().await.expect("a chunk").expect("bytes");
    assert!(
        String::from_utf8_lossy(&chunk).contains("event: submitted"),
        "{chunk:?}"
    );
    assert_eq!(
        get(url, &events, Some(&other)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(url, &events, None).await.0, StatusCode::UNAUTHORIZED);
    // Signed out: no job page at all.
    let (status, location, _) = get(url, &job_path, None).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/signin"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_rate_limited_per_address() {
    let config = Config {
        sign_in_attempts_per_minute: 5,
        ..Config::default()
    };
    let network = Network::start(config).await;
    let (_, _, key) = network.account_with_key(Role::Creator, "studio").await;
    for attempt in 0..5 {
        let answer = sign_in(&network.url, &format!("pk_guess_{attempt}")).await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    // Over the allowance even the right key waits: the limit is on attempts, not on failures.
    let limited = sign_in(&network.url, &key).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().get(SET_COOKIE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_is_public_shows_the_network_and_verifies_the_ledger() {
    let network = Network::start(Config::default()).await;
    let (creator, _, creator_api_key) = network.creator_named("secret-studio", 100).await;
    let (worker, _, signing) = network.worker("gpu", 2).await;
    let (checker, _, _) = network.account_with_key(Role::Checker, "checker").await;
    let scene = upload_test_scene(&creator).await;
    let mut spec = small_spec(scene, "1-2");
    spec.tags.insert("secret-tag".to_string());
    let job = creator.jobs().submit(spec).send().await.expect("submit").id;
    // One of the two frames rendered, checked and paid.
    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("a task");
    common::deliver(&worker, &signing, &lease, "gpu")
        .await
        .expect("result");
    common::check_once(&checker, pictor_core::api::Verdict::Accept).await;

    let url = &network.url;
    let (status, _, page) = get(url, "/explorer", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let figure = |label: &str| {
        let at = page
            .find(&format!("<dt>{label}</dt><dd>"))
            .unwrap_or_else(|| panic!("{label}: {page}"));
        page[at + label.len() + 13..]
            .split('<')
            .next()
            .expect("value")
            .to_string()
    };
    assert_eq!(figure("Workers online"), "1");
    assert_eq!(figure("Tasks verified today"), "1");
    assert_ne!(figure("Paid to workers"), "0.000000 credits");
    let public_job = format!("/explorer/jobs/{}", job.0);
    assert!(page.contains(&format!("href=\"{public_job}\"")), "{page}");
    assert!(page.contains("1 / 2"), "{page}");
    for private in ["secret-studio", "secret-tag"] {
        assert!(!page.contains(private), "the Explorer shows {private}");
    }
    let head = network.admin.ledger().head().await.expect("head");
    assert!(page.contains(&head.hash), "the ledger head is not shown");

    // The job's and the accepted frame's public records: the output hash, the worker, the
    // checker's verdict, the ledger entries that paid for it; nothing of the creator.
    let frames = creator.jobs().frames(job).await.expect("frames");
    let (status, _, record) = get(url, &public_job, None).await;
    assert_eq!(status, StatusCode::OK);
    let frame_record = format!("/explorer/jobs/{}/frames/{}", job.0, frames[0].frame);
    assert!(
        record.contains(&format!("href=\"{frame_record}\"")),
        "{record}"
    );
    let (status, _, record) = get(url, &frame_record, None).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert!(record.contains(&frames[0].hash), "{record}");
    assert!(
        record.contains("<strong class=\"verdict\">accept</strong>"),
        "{record}"
    );
    assert!(
        record.contains("Ledger entry") && record.contains("settle"),
        "{record}"
    );
    assert!(record.contains("worker "), "{record}");
    for private in ["secret-studio", "secret-tag"] {
        assert!(
            !record.contains(private),
            "the frame's record shows {private}"
        );
    }
    for missing in [
        format!("/explorer/jobs/{}/frames/99", job.0),
        "/explorer/jobs/999/frames/1".to_string(),
        "/explorer/jobs/abc".to_string(),
    ] {
        let (status, _, _) = get(url, &missing, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }

    // The accepted frame, for its owner's page: its file with its hash as the ETag (a browser
    // revalidates and gets 304), nobody else's.
    assert_eq!(frames.len(), 1);
    let frame_path = format!("/jobs/{}/frames/{}", job.0, frames[0].frame);
    let creator_key = network
        .admin
        .accounts()
        .create(Role::Creator, "other")
        .await
        .expect("another creator")
        .api_key;
    let (owner_cookie, other_cookie) = (
        session_cookie(sign_in(url, &creator_api_key).await.headers()),
        session_cookie(sign_in(url, &creator_key).await.headers()),
    );
    let answer = browser()
        .get(format!("{url}{frame_path}"))
        .header("cookie", &owner_cookie)
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), StatusCode::OK);
    let etag = answer.headers()["etag"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(etag, format!("\"{}\"", frames[0].hash));
    let bytes = answer.bytes().await.expect("bytes");
    assert_eq!(bytes.len() as u64, frames[0].size);
    assert_eq!(
        pictor_core::BlobHash::of_bytes(&bytes).to_hex(),
        frames[0].hash
    );
    let again = browser()
        .get(format!("{url}{frame_path}"))
        .header("cookie", &owner_cookie)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("answered");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        get(url, &frame_path, Some(&other_cookie)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(url, &frame_path, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, _, job_page) = get(url, &format!("/jobs/{}", job.0), Some(&owner_cookie)).await;
    assert!(
        job_page.contains(&format!("href=\"{frame_path}\" download")),
        "{job_page}"
    );

    // Render the accepted frame again from the page's form: a new task for it.
    assert!(
        job_page.contains("<label for=\"rerender-frames\">"),
        "{job_page}"
    );
    let owner_csrf = csrf_of(&job_page);
    let rerender = format!("/jobs/{}/rerender", job.0);
    let before = creator.jobs().get(job).await.expect("job").tasks_total;
    let nonsense = post_form(
        url,
        &rerender,
        Some(&owner_cookie),
        &[("csrf", &owner_csrf), ("frames", "not frames")],
    )
    .await;
    assert_eq!(nonsense.status(), StatusCode::BAD_REQUEST);
    let frame = frames[0].frame.to_string();
    let forged = post_form(
        url,
        &rerender,
        Some(&owner_cookie),
        &[("csrf", "x"), ("frames", &frame)],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        creator.jobs().get(job).await.expect("job").tasks_total,
        before
    );
    let again = post_form(
        url,
        &rerender,
        Some(&owner_cookie),
        &[("csrf", &owner_csrf), ("frames", &frame)],
    )
    .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        creator.jobs().get(job).await.expect("job").tasks_total,
        before + 1
    );

    let (status, _, ledger) = get(url, "/explorer/ledger", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ledger.contains("Verified."), "{ledger}");
    assert!(ledger.contains(&head.public_key_hex), "{ledger}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_list_filters_by_state_and_pages_with_the_filter_in_the_url() {
    let network = Network::start(Config::default()).await;
    let (creator, _, key) = network.creator_named("studio", 1_000).await;
    network.worker("gpu", 2).await;
    let scene = upload_test_scene(&creator).await;
    let mut jobs = Vec::new();
    for _ in 0..51 {
        let spec = small_spec(scene.clone(), "1");
        jobs.push(creator.jobs().submit(spec).send().await.expect("submit").id);
    }
    for paused in [jobs[1], jobs[50]] {
        creator.jobs().pause(paused).await.expect("pause");
    }
    let url = &network.url;
    let cookie = session_cookie(sign_in(url, &key).await.headers());
    let rows = |page: &str| page.matches("<td><a href=\"/jobs/").count();

    // Newest first by default; the cursor pages on.
    let (status, _, first) = get(url, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&first), 50);
    assert!(
        first.find(&format!("href=\"/jobs/{}\"", jobs[50].0))
            < first.find(&format!("href=\"/jobs/{}\"", jobs[49].0))
    );
    let next = format!("/?after={}", jobs[1].0);
    assert!(
        first.contains(&format!("rel=\"next\" href=\"{next}\"")),
        "{first}"
    );
    let (_, _, second) = get(url, &next, Some(&cookie)).await;
    assert_eq!(rows(&second), 1);
    assert!(second.contains(&format!("href=\"/jobs/{}\"", jobs[0].0)));
    assert!(!second.contains("rel=\"next\""));
    // Oldest first, the order kept in the next page's URL.
    let (_, _, oldest) = get(url, "/?sort=oldest", Some(&cookie)).await;
    let next = format!("/?sort=oldest&amp;after={}", jobs[49].0);
    assert!(
        oldest.contains(&format!("rel=\"next\" href=\"{next}\"")),
        "{oldest}"
    );
    let (_, _, last) = get(url, &next.replace("&amp;", "&"), Some(&cookie)).await;
    assert_eq!(rows(&last), 1);
    assert!(last.contains(&format!("href=\"/jobs/{}\"", jobs[50].0)));
    // Each job's stacked bar says where its tasks are.
    assert!(
        first.contains(&format!("aria-label=\"Job {} tasks: 1 queued\"", jobs[0].0))
            || second.contains(&format!("aria-label=\"Job {} tasks: 1 queued\"", jobs[0].0)),
        "{second}"
    );

    // The filter is in the URL, and the form shows it chosen.
    let (status, _, paused) = get(url, "/?state=paused", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&paused), 2, "{paused}");
    for job in [jobs[1], jobs[50]] {
        assert!(paused.contains(&format!("href=\"/jobs/{}\"", job.0)));
    }
    assert!(
        paused.contains("<option value=\"paused\" selected>"),
        "{paused}"
    );
    let (_, _, completed) = get(url, "/?state=completed", Some(&cookie)).await;
    assert_eq!(rows(&completed), 0);
    assert!(completed.contains("No jobs match."), "{completed}");
    let (status, _, _) = get(url, "/?state=%3Cscript%3E", Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Search by name: case-insensitive, the text taken literally, names shown as text.
    for name in ["Shot 010 <b>final</b>", "shot 020", "100% done"] {
        let spec = pictor_core::JobSpec {
            name: Some(name.into()),
            ..small_spec(scene.clone(), "1")
        };
        creator.jobs().submit(spec).send().await.expect("submit");
    }
    let (_, _, shots) = get(url, "/?q=SHOT", Some(&cookie)).await;
    assert_eq!(rows(&shots), 2, "{shots}");
    assert!(shots.contains("Shot 010 &lt;b&gt;final&lt;/b&gt;"));
    assert!(
        shots.contains("value=\"SHOT\""),
        "the search stays in its field"
    );
    let (_, _, percent) = get(url, "/?q=%25", Some(&cookie)).await;
    assert_eq!(rows(&percent), 1, "% is a character, not a wildcard");
    let (_, _, none) = get(url, "/?q=_", Some(&cookie)).await;
    assert_eq!(rows(&none), 0, "_ is a character, not a wildcard");
    assert!(none.contains("No jobs match."));
    let (_, _, paused_shots) = get(url, "/?q=shot&state=paused", Some(&cookie)).await;
    assert_eq!(rows(&paused_shots), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_once_with_a_password_and_acts_as_each_linked_account() {
    let network = Network::start(Config::default()).await;
    let (_, _, creator_key) = network.creator_named("Ada Studio", 10).await;
    let (_, _, worker_key) = network
        .account_with_key(Role::Worker, "Ada <b>GPU</b>")
        .await;
    let (_, bob_id, bob_key) = network.creator_named("Bob", 10).await;
    let url = &network.url;
    let password = "correct horse battery";

    // Signed in with the creator's key, Ada chooses a login and a password.
    let key_cookie = session_cookie(sign_in(url, &creator_key).await.headers());
    let (_, _, page) = get(url, "/account", Some(&key_cookie)).await;
    assert!(page.contains("id=\"set-password\""), "{page}");
    let csrf = csrf_of(&page);
    let set = |cookie: &str, csrf: &str, login: &str, password: &str, repeated: &str| {
        let fields = [
            ("csrf", csrf.to_string()),
            ("login", login.to_string()),
            ("password", password.to_string()),
            ("repeated", repeated.to_string()),
        ];
        let cookie = cookie.to_string();
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(url, "/account/password", Some(&cookie), &borrowed).await
        }
    };
    let forged = set(&key_cookie, "", "ada@studio.io", password, password).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let differ = set(
        &key_cookie,
        &csrf,
        "ada@studio.io",
        password,
        "something else!",
    )
    .await;
    assert_eq!(differ.status(), StatusCode::BAD_REQUEST);
    let body = differ.text().await.expect("body");
    assert!(body.contains("differ") && !body.contains(password));
    let short = set(&key_cookie, &csrf, "ada@studio.io", "short", "short").await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(short.text().await.expect("body").contains("12"));
    let made = set(&key_cookie, &csrf, "Ada@Studio.io", password, password).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(made.headers()[LOCATION], "/account");
    let cookie = session_cookie(made.headers());
    // The key's session was replaced by the person's.
    let (status, location, _) = get(url, "/", Some(&key_cookie)).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/signin"))
    );
    let (_, _, page) = get(url, "/account", Some(&cookie)).await;
    assert!(
        page.contains("Signed in as <strong>ada@studio.io</strong>"),
        "{page}"
    );
    assert!(!page.contains(password));
    let csrf = csrf_of(&page);

    // Linking accounts takes their keys.
    let link = |key: &str, csrf: &str| {
        let (key, csrf, cookie) = (key.to_string(), csrf.to_string(), cookie.clone());
        async move {
            post_form(
                url,
                "/account/link",
                Some(&cookie),
                &[("csrf", &csrf), ("api_key", &key)],
            )
            .await
        }
    };
    assert_eq!(link(&worker_key, "").await.status(), StatusCode::FORBIDDEN);
    let bad = link("pk_not_a_key", &csrf).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.expect("body").contains("not valid"));
    assert_eq!(
        link(&worker_key, &csrf).await.status(),
        StatusCode::SEE_OTHER
    );
    let again = link(&worker_key, &csrf).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.expect("body").contains("already"));
    let (_, _, page) = get(url, "/account", Some(&cookie)).await;
    assert!(page.contains("Ada &lt;b&gt;GPU&lt;/b&gt;"), "{page}");
    assert!(page.contains("acting as this one"));

    // Acting as the worker account: the header says so; another person's account is a 404.
    let worker_id = {
        let at = page
            .find("name=\"account\" value=\"")
            .expect("a switch form")
            + 22;
        page[at..].split('"').next().unwrap().to_string()
    };
    let switch = |account: String| {
        let (csrf, cookie) = (csrf.clone(), cookie.clone());
        async move {
            post_form(
                url,
                "/account/switch",
                Some(&cookie),
                &[("csrf", &csrf), ("account", &account)],
            )
            .await
        }
    };
    assert_eq!(
        switch(bob_id.0.to_string()).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(switch(worker_id).await.status(), StatusCode::SEE_OTHER);
    let (_, _, home) = get(url, "/", Some(&cookie)).await;
    assert!(
        home.contains(
            "acting as <strong class=\"acting\">Ada &lt;b&gt;GPU&lt;/b&gt;</strong> (worker)"
        ),
        "{home}"
    );

    // Signing in again: the login in any case, the password; wrong ones read the same.
    let out = post_form(url, "/signout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let by_password = |login: &str, password: &str| {
        let (login, password) = (login.to_string(), password.to_string());
        async move {
            post_form(
                url,
                "/signin",
                None,
                &[("login", &login), ("password", &password)],
            )
            .await
        }
    };
    for (login, wrong) in [
        ("ada@studio.io", "correct horse battery?"),
        ("nobody", password),
    ] {
        let refused = by_password(login, wrong).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(refused.headers().get(SET_COOKIE).is_none());
        assert!(refused.text().await.expect("body").contains("not valid"));
    }
    let again = by_password("ADA@studio.io", password).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(again.headers());
    let (_, _, home) = get(url, "/", Some(&cookie)).await;
    assert!(
        home.contains("acting as <strong class=\"acting\">Ada Studio</strong> (creator)"),
        "a person signs in as their creator account: {home}"
    );

    // Bob cannot take Ada's login, nor link her worker account.
    let bob = session_cookie(sign_in(url, &bob_key).await.headers());
    let (_, _, page) = get(url, "/account", Some(&bob)).await;
    let bob_csrf = csrf_of(&page);
    let taken = set(&bob, &bob_csrf, "ada@studio.io", password, password).await;
    assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
    assert!(taken.text().await.expect("body").contains("taken"));
    let made = set(
        &bob,
        &bob_csrf,
        "bob",
        "another long password",
        "another long password",
    )
    .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let bob = session_cookie(made.headers());
    let (_, _, page) = get(url, "/account", Some(&bob)).await;
    let bob_csrf = csrf_of(&page);
    let stolen = post_form(
        url,
        "/account/link",
        Some(&bob),
        &[("csrf", &bob_csrf), ("api_key", &worker_key)],
    )
    .await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    assert!(
        stolen
            .text()
            .await
            .expect("body")
            .contains("another person")
    );
}
