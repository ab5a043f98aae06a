//! The JOB web page `/api_execute/{id}`.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn the_job_page_shows_status_hosts_and_escaped_logs() {
    let s = spawn().await;
    let job = s
        .run_script("echo '<b>hi</b>'", "", &[101], json!({}))
        .await;
    s.wait_finished(job).await;
    let r = s
        .http
        .get(format!("{}/api_execute/{job}", s.base))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.expect("html");
    assert!(html.contains(&format!("job instance {job}")), "{html}");
    assert!(html.contains("status 3 (success)"));
    assert!(html.contains("<td>101</td><td>0:10.0.0.1</td><td>9</td><td>0</td><td><pre>&lt;b&gt;hi&lt;/b&gt;\n</pre></td>"));
    let step = s.status(job).await["step_instance_list"][0]["step_instance_id"].clone();
    let via_step = s
        .http
        .get(format!("{}/api_execute_step/{job}/{step}", s.base))
        .send()
        .await
        .expect("page");
    assert_eq!(
        (
            via_step.status().as_u16(),
            via_step.url().path().to_string()
        ),
        (200, format!("/api_execute/{job}"))
    );
    let missing = s
        .http
        .get(format!("{}/api_execute/424242", s.base))
        .send()
        .await
        .expect("page");
    assert_eq!(missing.status().as_u16(), 404);
}
