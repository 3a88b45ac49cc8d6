//! Pictor Cloud's Rendering pages over real HTTP against a real coordinator: the API taking the
//! session cookie only together with its CSRF header (what the new-job page's script uploads
//! with); the new-job form's quote and its submission (once, however often it is sent), with the
//! "funds short" and bad-input answers; a job's frames as one streamed ZIP archive holding what
//! `pictor job download` writes; previews made by the network as JPEGs with ETags; another
//! creator getting 404 on all of it. The same flow in a real browser is `cloud_browser.rs`.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::web::{browser, csrf_of, get, post_form, session_cookie, sign_in, unzip};
use common::{Network, deliver_pngs, upload_test_scene};
use pictor_core::api::Verdict;
use pictor_network::service::Config;
use reqwest::StatusCode;

/// Every job of `creator`.
async fn jobs_of(creator: &pictor_sdk::Client) -> Vec<pictor_core::api::JobView> {
    use futures_util::TryStreamExt;
    creator
        .jobs()
        .list()
        .send()
        .try_collect()
        .await
        .expect("jobs")
}

/// Signs `key` in; answers the cookie pair and the session's CSRF token.
async fn signed_in(url: &str, key: &str) -> (String, String) {
    let answer = sign_in(url, key).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(answer.headers());
    let (_, _, home) = get(url, "/", Some(&cookie)).await;
    (cookie.clone(), csrf_of(&home))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_the_session_cookie_only_with_its_csrf_header() {
    let network = Network::start(Config::default()).await;
    let (_, _, key) = network.creator_named("Studio", 10).await;
    let url = &network.url;
    let (cookie, csrf) = signed_in(url, &key).await;
    let account = |csrf: Option<&str>| {
        let mut request = browser()
            .get(format!("{url}/v1/account"))
            .header("cookie", &cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-pictor-csrf", csrf);
        }
        request.send()
    };
    // The cookie alone — what another site's page could make a browser send — is not a key.
    assert_eq!(
        account(None).await.expect("answer").status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = "0".repeat(csrf.len());
    assert_eq!(
        account(Some(&wrong)).await.expect("answer").status(),
        StatusCode::UNAUTHORIZED
    );
    let me = account(Some(&csrf)).await.expect("answer");
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(me["name"], "Studio");
    // After sign-out the same cookie and token are nothing.
    let out = post_form(url, "/signout", Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        account(Some(&csrf)).await.expect("answer").status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_job_form_quotes_then_submits_once_and_says_when_funds_are_short() {
    let network = Network::start(Config::default()).await;
    let (creator, _, key) = network.creator_named("Studio", 100).await;
    let (poor, _, poor_key) = network.creator_named("Poor", 0).await;
    let _worker = network.worker("gpu", 2).await;
    let url = &network.url;
    let (cookie, csrf) = signed_in(url, &key).await;

    let (status, _, form) = get(url, "/jobs/new", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    for needed in [
        "id=\"new-job\"",
        "/blake3.js",
        "/new_job.js",
        "label for=\"frames\"",
        "label for=\"budget_cap\"",
    ] {
        assert!(form.contains(needed), "the form has {needed}");
    }
    // The page's scripts are served as scripts.
    for script in ["/blake3.js", "/new_job.js", "/app.js"] {
        let answer = browser()
            .get(format!("{url}{script}"))
            .send()
            .await
            .expect("script");
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(
            answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
    }

    let scene = upload_test_scene(&creator).await;
    let scene = scene.as_str().to_string();
    let fields = |step: &'static str, frames: &'static str| {
        vec![
            ("scene", scene.clone()),
            ("scene_label", "scene.toml <b>from</b> a folder".to_string()),
            ("renderer", "builtin".into()),
            ("frames", frames.into()),
            ("width", "64".into()),
            ("height", "36".into()),
            ("samples", "16".into()),
            ("output", "png8".into()),
            ("tier", "standard".into()),
            ("budget_cap", String::new()),
            ("step", step.into()),
        ]
    };
    let post = async |cookie: &str, csrf: Option<&str>, extra: Vec<(&str, String)>| {
        let mut all: Vec<(&str, String)> = extra;
        if let Some(csrf) = csrf {
            all.push(("csrf", csrf.to_string()));
        }
        let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = post_form(url, "/jobs/new", Some(cookie), &borrowed).await;
        let status = answer.status();
        let location = answer
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_string());
        (status, location, answer.text().await.expect("body"))
    };

    // Without the CSRF token nothing is quoted or made.
    let (status, _, _) = post(&cookie, None, fields("quote", "1-3")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad input: the form again, saying what is wrong, keeping the fields.
    let (status, _, page) = post(&cookie, Some(&csrf), fields("quote", "3-1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("id=\"form-error\""), "{page}");
    assert!(page.contains("Frames:"), "{page}");
    assert!(page.contains("value=\"3-1\""));
    let mut no_scene = fields("quote", "1-3");
    no_scene[0].1 = "not-an-asset".into();
    let (status, _, page) = post(&cookie, Some(&csrf), no_scene).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Choose a scene and upload it first."));

    // The quote, before anything is held.
    let (status, _, quote) = post(&cookie, Some(&csrf), fields("quote", "1-3")).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    for needed in [
        "id=\"quote-p50\"",
        "id=\"quote-p90\"",
        "id=\"quote-hold\"",
        "id=\"confirm\"",
    ] {
        assert!(quote.contains(needed), "the quote page has {needed}");
    }
    // The label the script sent is shown as text.
    assert!(quote.contains("scene.toml &lt;b&gt;from&lt;/b&gt; a folder"));
    assert!(jobs_of(&creator).await.is_empty());
    let idempotency = {
        let at = quote.find("name=\"idempotency\" value=\"").expect("a key") + 26;
        quote[at..].split('"').next().unwrap().to_string()
    };
    // Confirming twice (a double click, a resent form) makes one job.
    let mut confirm = fields("submit", "1-3");
    confirm.push(("idempotency", idempotency));
    let (status, first, _) = post(&cookie, Some(&csrf), confirm.clone()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, second, _) = post(&cookie, Some(&csrf), confirm).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(first, second);
    let jobs = jobs_of(&creator).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        first.as_deref(),
        Some(format!("/jobs/{}", jobs[0].id.0).as_str())
    );
    assert_eq!(jobs[0].spec.frames.len(), 3);

    // An empty balance: the quote says funds are short and offers no confirm button; a forged
    // confirmation is refused, saying why.
    let poor_scene = upload_test_scene(&poor).await;
    let (poor_cookie, poor_csrf) = signed_in(url, &poor_key).await;
    let mut poor_fields = fields("quote", "1-3");
    poor_fields[0].1 = poor_scene.as_str().to_string();
    let (status, _, quote) = post(&poor_cookie, Some(&poor_csrf), poor_fields.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(quote.contains("id=\"funds-short\""), "{quote}");
    assert!(!quote.contains("id=\"confirm\""));
    poor_fields[10].1 = "submit".into();
    poor_fields.push(("idempotency", "forged-1".into()));
    let (status, _, page) = post(&poor_cookie, Some(&poor_csrf), poor_fields).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Funds short"), "{page}");
    assert!(jobs_of(&poor).await.is_empty());

    // Another creator's scene is not theirs to render.
    let own = tempfile::tempdir().expect("dir");
    std::fs::write(own.path().join("scene.toml"), b"# the studio's own scene\n").expect("scene");
    let own_scene = creator
        .assets()
        .upload_folder(own.path(), "scene.toml")
        .send()
        .await
        .expect("upload")
        .id;
    let mut foreign = fields("quote", "1-3");
    foreign[0].1 = own_scene.as_str().to_string();
    let (status, _, page) = post(&poor_cookie, Some(&poor_csrf), foreign).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!page.contains("id=\"quote-p50\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_download_as_one_zip_like_pictor_job_download_and_previews_are_jpegs() {
    let network = Network::start(Config::default()).await;
    let market = network.small_market("Studio", "1-3").await;
    let (creator, key, job) = (&market.creator, &market.creator_key, market.job);
    let (_, _, other_key) = network.creator_named("Other", 100).await;
    let url = &network.url;
    let (cookie, _) = signed_in(url, key).await;
    let (other_cookie, _) = signed_in(url, &other_key).await;
    let zip_path = format!("/jobs/{}/frames.zip", job.0);
    let (status, _, _) = get(url, &zip_path, Some(&cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no frame accepted yet");

    for _ in 0..3 {
        market.accept_one().await;
    }
    let answer = browser()
        .get(format!("{url}{zip_path}"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("zip");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "application/zip");
    assert!(
        answer.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("job-{}-frames.zip", job.0))
    );
    let archive = answer.bytes().await.expect("body");
    let dir = tempfile::tempdir().expect("dir");
    unzip(&archive, dir.path());
    let downloaded = creator
        .jobs()
        .download_frames(job, dir.path().join("sdk"))
        .await
        .expect("download");
    assert_eq!(downloaded.len(), 3);
    let mut zipped: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .expect("unzipped")
        .map(|entry| entry.expect("entry").file_name().into_string().unwrap())
        .collect();
    zipped.sort();
    assert_eq!(
        zipped,
        ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    );
    for frame in &downloaded {
        let name = frame.path.file_name().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("out").join(name)).expect("zipped frame"),
            std::fs::read(&frame.path).expect("downloaded frame"),
            "{name:?} is the same in the zip as from `pictor job download`"
        );
    }

    // The job's page shows where its money went, from the ledger.
    let (_, _, page) = get(url, &format!("/jobs/{}", job.0), Some(&cookie)).await;
    let money = &page[page.find("id=\"money\"").expect("a money section")..];
    for line in [
        "Held from your balance",
        "Paid to worker account",
        "Paid to checker account",
        "Paid to network fees",
    ] {
        assert!(money.contains(line), "{line}: {money}");
    }
    assert!(money.contains("(task "), "entries name their tasks");

    // Previews: JPEGs made by the network, revalidated by the frame's hash.
    let preview = format!("/jobs/{}/frames/2/preview/small", job.0);
    let answer = browser()
        .get(format!("{url}{preview}"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("preview");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/jpeg");
    let etag = answer.headers()["etag"].to_str().unwrap().to_string();
    let jpeg = answer.bytes().await.expect("jpeg");
    let picture =
        image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).expect("a JPEG");
    assert_eq!((picture.width(), picture.height()), (64, 36));
    let again = browser()
        .get(format!("{url}{preview}"))
        .header("cookie", &cookie)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("revalidate");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let (status, _, _) = get(
        url,
        &format!("/jobs/{}/frames/2/preview/huge", job.0),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another creator: 404 on the archive, the previews and the frames; signed out: 401.
    for path in [&zip_path, &preview, &format!("/jobs/{}/frames/2", job.0)] {
        let (status, _, _) = get(url, path, Some(&other_cookie)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let (status, _, _) = get(url, path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_page_shows_each_frame_where_it_is_when_opened() {
    let network = Network::start(Config::default()).await;
    let market = network.small_market("Studio", "1-2").await;
    let (key, job) = (&market.creator_key, market.job);
    let (worker, signing, checker) = (&market.worker, &market.signing, &market.checker);
    let url = &network.url;
    let (cookie, _) = signed_in(url, key).await;
    let path = format!("/jobs/{}", job.0);
    let tile = |page: &str, frame: u32| {
        let at = page.find(&format!("id=\"frame-{frame}\"")).expect("a tile");
        let end = page[at..].find("</li>").map_or(page.len(), |end| at + end);
        page[at..end].to_string()
    };

    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("task");
    let frame = lease.work.frames()[0];
    let (_, _, page) = get(url, &path, Some(&cookie)).await;
    assert!(
        tile(&page, frame).contains("data-state=\"rendering\""),
        "{page}"
    );
    assert!(tile(&page, frame).contains("rendering on worker"));
    assert!(tile(&page, 3 - frame).contains("data-state=\"queued\""));

    deliver_pngs(worker, signing, &lease).await;
    let (_, _, page) = get(url, &path, Some(&cookie)).await;
    assert!(
        tile(&page, frame).contains("data-state=\"verifying\""),
        "{page}"
    );

    common::check_once(checker, Verdict::Reject).await;
    let (_, _, page) = get(url, &path, Some(&cookie)).await;
    assert!(
        tile(&page, frame).contains("data-state=\"rejected\""),
        "{page}"
    );
    assert!(tile(&page, frame).contains("rejected 1×, queued again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_from_the_new_job_form_is_quoted_and_submitted_as_an_upscale() {
    use pictor_core::job::{RendererKind, Version};
    let network = Network::start(Config::default()).await;
    let (creator, _, key) = network.creator_named("Studio", 100).await;
    // A worker offering upscales (the models are on its machine; nothing runs in this test).
    let (worker, _) = network
        .account(pictor_core::api::Role::Worker, "upscaler")
        .await;
    let mut offer = common::register_request(
        "upscaler",
        &ed25519_dalek::SigningKey::from_bytes(&common::rand_seed(9)),
        2,
    );
    offer
        .hardware
        .renderers
        .push((RendererKind::Upscale, Version::new(1, 0, 0)));
    worker.workers().register(offer).await.expect("registered");
    let url = &network.url;
    let (cookie, csrf) = signed_in(url, &key).await;
    let (_, _, form) = get(url, "/jobs/new", Some(&cookie)).await;
    assert!(
        form.contains("value=\"upscale\""),
        "the form offers upscaling"
    );
    assert!(form.contains("id=\"factor\""));

    // One image, named as the creator named it.
    let dir = tempfile::tempdir().expect("temp");
    image::RgbImage::from_fn(40, 24, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 10) as u8, 90])
    })
    .save(dir.path().join("holiday photo.png"))
    .expect("image");
    let image = creator
        .assets()
        .upload_folder(dir.path(), "holiday photo.png")
        .send()
        .await
        .expect("upload")
        .id;
    let scene = upload_test_scene(&creator).await;
    let fields = |asset: &str, factor: &str, step: &str| {
        [
            ("scene", asset.to_string()),
            ("scene_label", "holiday photo.png".to_string()),
            ("renderer", "upscale".into()),
            ("frames", "1".into()),
            ("width", String::new()),
            ("height", String::new()),
            ("samples", String::new()),
            ("output", "png8".into()),
            ("tier", "standard".into()),
            ("budget_cap", String::new()),
            ("factor", factor.into()),
            ("step", step.into()),
            ("csrf", csrf.clone()),
        ]
    };
    let post = async |fields: [(&str, String); 13]| {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = post_form(url, "/jobs/new", Some(&cookie), &borrowed).await;
        let status = answer.status();
        (status, answer.text().await.expect("body"))
    };
    // Bad input: the form again, saying why; nothing made.
    let (status, page) = post(fields(image.as_str(), "3", "quote")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Upscale:"), "{page}");
    let (status, page) = post(fields(scene.as_str(), "4", "quote")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("not an image"), "{page}");
    // The quote, then the job: ×4 of the 40×24 image the network read.
    let (status, quote) = post(fields(image.as_str(), "4", "quote")).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let idempotency = {
        let at = quote.find("name=\"idempotency\" value=\"").expect("a key") + 26;
        quote[at..].split('"').next().unwrap().to_string()
    };
    let mut confirm = fields(image.as_str(), "4", "submit").to_vec();
    confirm.push(("idempotency", idempotency));
    let borrowed: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = post_form(url, "/jobs/new", Some(&cookie), &borrowed).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let jobs = jobs_of(&creator).await;
    assert_eq!(jobs.len(), 1);
    let spec = &jobs[0].spec;
    assert_eq!(spec.renderer.kind, RendererKind::Upscale);
    assert_eq!(spec.upscale.as_ref().map(|u| u.factor), Some(4));
    assert_eq!((spec.resolution.width, spec.resolution.height), (160, 96));
}
