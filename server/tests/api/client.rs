//! The built client is served from the dist directory at `/`, with a fallback to
//! `index.html` for client-side routes, compressed on the way out.

use crate::helpers::{TestApp, test_config};

#[tokio::test]
async fn the_client_is_served_with_an_spa_fallback_and_gzip() {
    let (mut config, dir) = test_config().await;
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!DOCTYPE html><title>Confab</title>",
    )
    .unwrap();
    std::fs::write(dist.join("confab-app_bg.wasm"), vec![0u8; 64 * 1024]).unwrap();
    config.dist_dir = dist;
    let app = TestApp::start(config).await;
    let http = reqwest::Client::new();

    for path in ["/", "/rooms/42"] {
        let response = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>Confab</title>"),
            "{path}"
        );
    }
    let response = http
        .get(app.url("/confab-app_bg.wasm"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    assert_eq!(
        response
            .headers()
            .get("x-content-type-options")
            .map(|v| v.to_str().unwrap()),
        Some("nosniff")
    );
    drop(dir);
}
