//! Every `medkey` command, at every depth, has `--help` with a description and an example.
//! The tree is walked from the binary's own help, so a new command is checked without listing it.

use medkey_e2e::medkey;

/// The subcommand names listed under "Commands:" in a help text (without `help` itself).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_has_help_with_an_example() {
    let mut pending = vec![Vec::<String>::new()];
    let mut checked = 0;
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = medkey(&args, &[]);
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "medkey {} --help failed", path.join(" "));
        assert!(help.lines().next().is_some_and(|l| !l.trim().is_empty()), "no description: medkey {}", path.join(" "));
        assert!(help.contains("Example"), "no example in `medkey {} --help`:\n{help}", path.join(" "));
        for name in subcommands(&help) {
            let mut child = path.clone();
            child.push(name);
            pending.push(child);
        }
        checked += 1;
    }
    assert!(checked > 40, "only {checked} commands found: the walk is broken");
}

#[test]
fn bad_usage_exits_with_2_and_a_failure_with_1() {
    let usage = medkey(&["grant", "--provider", "not-an-address"], &[]);
    assert_eq!(usage.status.code(), Some(2), "{}", String::from_utf8_lossy(&usage.stderr));
    // An unknown category is bad usage too, in every command that takes categories, with the list.
    let provider = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
    for args in [
        &["grant", "--provider", provider, "--categories", "labs", "--until", "2030-01-01"][..],
        &["emergency", "opt-in", "--categories", "labs"][..],
        &["provider", "request", "--patient", provider, "--categories", "lab_results,labs"][..],
        &["records", "--category", "vital"][..],
    ] {
        let out = medkey(args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("lab_results"), "the valid categories are named: {stderr}");
    }
    // Checked before anything is unlocked or contacted.
    let failed = medkey(&["show", "not-a-record-id"], &[]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("'not-a-record-id' is not a record id"), "{stderr}");
}
