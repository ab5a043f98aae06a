//! The protocol both scripts share: their arguments (positional or via the plan-mode variable),
//! refusing anything else, and detecting a log cut after its header.

use backup_service::hostscript::*;

use crate::support::*;

#[test]
fn a_log_cut_anywhere_after_its_header_is_detected_as_truncated() {
    let tree = Tree::new();
    tree.nasty();
    let (sel, run_id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
    let log = run(
        &tree,
        SEARCH_SH,
        &search_script_param(&sel, false, &run_id),
        As::Root,
        None,
    )
    .log;
    let ends: Vec<usize> = (0..log.len()).filter(|&i| log[i] == b'\n').collect();
    assert_eq!(ends.len(), NASTY.len() + 2);
    for (k, &end) in ends.iter().enumerate().take(ends.len() - 1) {
        for cut in [end + 1, end + 4] {
            let got = parse_search_output(&log[..cut], &sel, &run_id).unwrap_err();
            assert_eq!(
                got,
                HostScriptError::Truncated { records: k },
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn plan_mode_reads_the_same_arguments_from_the_bkb_args_variable() {
    let tree = Tree::new();
    let expected = tree.nasty();
    let (sel, run_id) = (selection(&tree.dir(), 1000), run_id("run-0001"));
    let param = search_script_param(&sel, false, &run_id);
    let (shebang, rest) = SEARCH_SH.split_once('\n').unwrap();
    let planned = format!("{shebang}\n{PLAN_ARGS_VARIABLE}='{param}'\n{rest}");
    let ran = run(&tree, &planned, "", As::Root, None);
    let r = parse_search_output(&ran.log, &sel, &run_id).unwrap();
    assert_eq!((ran.code, r.files.len()), (Some(0), expected.len()));
}

#[test]
fn scripts_refuse_arguments_that_are_not_their_protocol() {
    let tree = Tree::new();
    let (sel, run_id) = (selection(&tree.dir(), 10), run_id("run-0001"));
    for param in ["/var/log .log", "", "MQ== bm90IGVub3VnaA=="] {
        let ran = run(&tree, SEARCH_SH, param, As::Root, None);
        let r = parse_search_output(&ran.log, &sel, &run_id).unwrap();
        assert_eq!(
            (ran.code, r.status),
            (Some(2), HostStatus::ScriptError),
            "{param:?}"
        );
        assert!(r.error.is_some());
    }
}
