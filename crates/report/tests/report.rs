//! Integration tests of the report outputs: CSV, JSON, HTML, terminal summary, whole runs.

mod util;

use std::path::Path;

use dlscope_analyze::{analyze, analyze_shard, finish, FindingKind, Settings, Shard};
use dlscope_data::SampleId;
use dlscope_report::outdir::OutDir;
use dlscope_report::tables::{write_findings_csv, FEATURES_COLUMNS, FINDINGS_COLUMNS};
use dlscope_report::{html, shards, summary, write_analysis, Report, WriteOptions, SCHEMA_VERSION};
use util::{finding, hand_made};

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

// ---------------------------------------------------------------- findings.csv

#[test]
fn findings_csv_has_the_exact_header_and_quotes_awkward_text() {
    let nasty = "said \"hi\", then\nleft";
    let mut dup = finding(
        FindingKind::ExactDuplicate,
        "test",
        7,
        SampleId::Index(7),
        Some(12),
        1.0,
        "plain",
    );
    dup.partner = Some(dlscope_analyze::Partner {
        split: "train".into(),
        index: 3,
        id: SampleId::Index(3),
    });
    let findings = vec![
        finding(
            FindingKind::Dark,
            "train",
            3,
            SampleId::Path("cat/a, \"b\".png".into()),
            None,
            0.875,
            nasty,
        ),
        dup,
    ];
    let mut buf = Vec::new();
    write_findings_csv(&mut buf, &findings).unwrap();
    let text = String::from_utf8(buf.clone()).unwrap();
    assert!(
        text.starts_with("kind,split,id,group,score,detail,partner_split,partner_id\n"),
        "{text}"
    );
    assert!(text.contains("\"said \"\"hi\"\", then\nleft\""), "{text}");

    let mut r = csv::Reader::from_reader(&buf[..]);
    assert_eq!(r.headers().unwrap(), FINDINGS_COLUMNS.as_slice());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        [
            "dark",
            "train",
            "cat/a, \"b\".png",
            "",
            "0.875",
            nasty,
            "",
            ""
        ]
    );
    assert_eq!(
        rows[1].iter().collect::<Vec<_>>(),
        [
            "exact_duplicate",
            "test",
            "7",
            "12",
            "1",
            "plain",
            "train",
            "3"
        ]
    );
}

// ---------------------------------------------------------------- report.json

#[test]
fn report_json_round_trips_with_schema_version() {
    let a = hand_made(vec![finding(
        FindingKind::Leak,
        "test",
        1,
        SampleId::Index(1),
        Some(4),
        0.9375,
        "near duplicate in train: train/4 (perceptual hash distance 4)",
    )]);
    let report = Report::from_analysis(&a);
    let mut buf = Vec::new();
    report.write(&mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    assert_eq!(v["counts"]["leak"], 1);
    let dark = Settings::default().thresholds.dark as f64;
    assert_eq!(v["settings"]["thresholds"]["dark"], dark);
    assert_eq!(v["findings"][0]["kind"], "leak");
    let back = Report::parse(&buf, Path::new("report.json")).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.profile, a.profile);

    // A report from a newer dlscope is refused with a clear error.
    let mut newer = v.clone();
    newer["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
    let err = Report::parse(newer.to_string().as_bytes(), Path::new("r.json")).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

// ---------------------------------------------------------------- terminal summary

#[test]
fn terminal_summary_is_pinned() {
    let id = SampleId::Index;
    let a = hand_made(vec![
        finding(
            FindingKind::ExactDuplicate,
            "train",
            1,
            id(1),
            Some(1),
            1.0,
            "x",
        ),
        finding(
            FindingKind::ExactDuplicate,
            "train",
            2,
            id(2),
            Some(1),
            1.0,
            "x",
        ),
        finding(FindingKind::Leak, "test", 0, id(0), Some(1), 1.0, "x"),
        finding(FindingKind::Dark, "train", 5, id(5), None, 0.9, "x"),
    ]);
    let expected = "\
hand-made (idx): 110 samples, 2 splits, 3 classes

split  samples  unreadable  imbalance  normalisation (pixels / 255)
train      100           0      2.50x  mean=(0.2500,) std=(0.4330,)
test        10           0      1.33x  mean=(0.2000,) std=(0.0000,)

finding           count
unreadable            0
exact_duplicate       2
near_duplicate        0
label_conflict        0
leak                  1
outlier               0
dark                  1
light                 0
blurry                0
low_information       0
constant              0
grayscale             0
odd_size              0
odd_aspect_ratio      0
label_issue           0
total                 4

class balance (largest / smallest class):
  train  2.50x  'shirt' 50 / 'shoe' 20
  test   1.33x  'shirt' 4 / 'bag' 3
";
    assert_eq!(summary::render_analysis(&a), expected);
}

#[test]
fn colour_normalisation_prints_three_values() {
    let mut a = hand_made(vec![]);
    a.profile.splits[0].pixels.mean = vec![0.49139968, 0.48215841, 0.44653091];
    a.profile.splits[0].pixels.std = vec![0.24703223, 0.24348513, 0.26158784];
    assert_eq!(
        summary::normalisation(&a.profile.splits[0]),
        "mean=(0.4914, 0.4822, 0.4465) std=(0.2470, 0.2435, 0.2616)"
    );
}

// ---------------------------------------------------------------- HTML

#[test]
fn html_escapes_file_and_class_names() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ds");
    // A '/' cannot be in a file name, so the file is `script>.png` in a folder
    // `<script>alert(1)<`; its id (path below the class) reads `<script>alert(1)</script>.png`.
    // The class folder is `<b>cls<` with a sub-folder, likewise.
    util::save(
        &root.join("<b>cls</b>/<script>alert(1)</script>.png"),
        &util::textured(16, 16, 1, 0, 20),
    );
    util::save(
        &root.join("<b>cls</b>/ok.png"),
        &util::textured(16, 16, 2, 0, 255),
    );
    util::save(
        &root.join("plain/ok.png"),
        &util::textured(16, 16, 3, 0, 255),
    );
    let ds = dlscope_data::open(root.to_str().unwrap()).unwrap();
    let a = analyze(&ds, &Settings::default(), &|_| {}).unwrap();
    assert!(
        a.findings
            .iter()
            .any(|f| f.kind == FindingKind::Dark && f.id.to_string().contains("<script>")),
        "the dark file must be in a gallery: {:?}",
        a.findings
    );
    let page = html::render(&a, Some(&ds), &Default::default());
    assert!(
        !page.contains("<script>alert(1)"),
        "raw script tag in the page"
    );
    assert!(!page.contains("<b>cls"), "raw class name in the page");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.png"));
    assert!(page.contains("&lt;b&gt;cls&lt;/b&gt;"));
    assert!(
        !page.to_ascii_lowercase().contains("<script"),
        "no script at all"
    );
}

#[test]
fn html_is_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ds");
    util::folder_dataset(&root);
    let ds = dlscope_data::open(root.to_str().unwrap()).unwrap();
    let a = analyze(&ds, &Settings::default(), &|_| {}).unwrap();
    let page = html::render(&a, Some(&ds), &Default::default());
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(
        !page.contains("src=\"/") && !page.contains("url("),
        "no external resources"
    );
    // Thumbnails and mean images are inline PNGs; charts are inline SVG.
    assert!(page.matches("src=\"data:image/png;base64,").count() >= 4);
    assert!(page.contains("<svg class=\"chart\""));
    for anchor in [
        "overview",
        "findings",
        "classes",
        "pixels",
        "sizes",
        "mean-images",
        "settings",
    ] {
        assert!(page.contains(&format!("id=\"{anchor}\"")), "{anchor}");
        assert!(page.contains(&format!("href=\"#{anchor}\"")), "{anchor}");
    }
    // The leak gallery shows the test sample and its twin in train.
    let leak = &page[page.find("id=\"f-leak\"").unwrap()..];
    let leak = &leak[..leak.find("</section>").unwrap()];
    assert!(leak.contains("test/dog/leak.png"), "{leak}");
    assert!(leak.contains("train/dog/d2.png"), "{leak}");
    assert!(
        leak.contains("<b title=\"train/dog/d2.png\">"),
        "twin captioned once: {leak}"
    );
    assert!(
        !leak.contains("<b title=\"test/test/"),
        "split not repeated: {leak}"
    );
    // Side by side: one pair, the flagged test sample first, then its train partner with its
    // own thumbnail (loaded like the flagged ones), split and label.
    assert_eq!(leak.matches("<div class=\"pair\">").count(), 1, "{leak}");
    let pair = &leak[leak.find("<div class=\"pair\">").unwrap()..];
    let (test_at, train_at) = (
        pair.find("<b title=\"test/dog/leak.png\">").unwrap(),
        pair.find("<figure class=\"item partner\"").unwrap(),
    );
    assert!(test_at < train_at, "{pair}");
    let partner = &pair[train_at..train_at + pair[train_at..].find("</figure>").unwrap()];
    assert!(
        partner.contains("src=\"data:image/png;base64,"),
        "{partner}"
    );
    assert!(
        partner.contains("<b title=\"train/dog/d2.png\">d2.png</b>"),
        "{partner}"
    );
    assert!(
        partner.contains("<span class=\"s\">train · dog</span>"),
        "{partner}"
    );
    // Duplicates name their partner; a label conflict adds the partner's other label.
    let dup = section(&page, "exact_duplicate");
    assert!(dup.contains("same as <b>c1.png</b>"), "{dup}");
    assert!(dup.contains("same as <b>copy of c1.png</b>"), "{dup}");
    let conflict = section(&page, "label_conflict");
    assert!(
        conflict.contains("conflicts with <b>copy of c1.png</b> · dog"),
        "{conflict}"
    );
    assert!(
        conflict.contains("conflicts with <b>c1.png</b> · cat"),
        "{conflict}"
    );
}

/// The gallery section of finding kind `kind`.
fn section<'a>(page: &'a str, kind: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"f-{kind}\""))
        .unwrap_or_else(|| panic!("no {kind} gallery"));
    let s = &page[at..];
    &s[..s.find("</section>").unwrap()]
}

#[test]
fn html_leak_partner_names_are_escaped_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ds");
    // The train copy has a hostile name in a hostile class (no '/': the folder reader looks
    // three levels deep).
    let hostile = root.join("train/<b>cls/<script>alert(2).png");
    util::save(&hostile, &util::textured(32, 32, 5, 0, 255));
    for i in 0..4u64 {
        util::save(
            &root.join(format!("train/<b>cls/a{i}.png")),
            &util::textured(32, 32, 60 + i, 0, 255),
        );
        util::save(
            &root.join(format!("test/<b>cls/t{i}.png")),
            &util::textured(32, 32, 70 + i, 0, 255),
        );
    }
    std::fs::copy(&hostile, root.join("test/<b>cls/leak.png")).unwrap();
    let ds = dlscope_data::open(root.to_str().unwrap()).unwrap();
    let a = analyze(&ds, &Settings::default(), &|_| {}).unwrap();
    let leak = a
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Leak)
        .expect("the test copy leaks");
    let partner = leak.partner.as_ref().expect("a leak names its train copy");
    assert!(
        partner.id.to_string().contains("<script>alert(2)"),
        "{partner:?}"
    );

    let page = html::render(&a, Some(&ds), &Default::default());
    assert!(
        !page.to_ascii_lowercase().contains("<script"),
        "no script at all"
    );
    assert!(!page.contains("<b>cls"), "raw class name in the page");
    assert!(
        page.contains("&lt;b&gt;cls"),
        "escaped class name in the page"
    );
    let g = section(&page, "leak");
    let pair = &g[g.find("<div class=\"pair\">").unwrap()..];
    let at = pair.find("<figure class=\"item partner\"").unwrap();
    let fig = &pair[at..at + pair[at..].find("</figure>").unwrap()];
    assert!(
        fig.contains("<b title=\"train/&lt;b&gt;cls/&lt;script&gt;alert(2).png\">"),
        "{fig}"
    );
    assert!(fig.contains("src=\"data:image/png;base64,"), "{fig}");
    // The exact duplicates name each other, escaped.
    let dup = section(&page, "exact_duplicate");
    assert!(
        dup.contains("title=\"same as train/&lt;b&gt;cls/&lt;script&gt;alert(2).png"),
        "{dup}"
    );
}

#[test]
fn html_label_issue_shows_given_and_suggested_label() {
    let mut f = finding(
        FindingKind::LabelIssue,
        "train",
        3,
        SampleId::Index(3),
        None,
        0.9,
        "given shirt, model says shoe",
    );
    f.suggested_label = Some(2);
    let page = html::render(&hand_made(vec![f]), None, &Default::default());
    let g = section(&page, "label_issue");
    assert!(g.contains("<span class=\"s\">train · shirt</span>"), "{g}");
    assert!(g.contains("→ <b>shoe</b>"), "{g}");
}

#[test]
fn galleries_are_capped_and_point_to_the_csv() {
    let findings: Vec<_> = (0..100)
        .map(|i| {
            finding(
                FindingKind::Blurry,
                "train",
                i,
                SampleId::Index(i),
                None,
                1.0 - i as f64 / 200.0,
                "soft",
            )
        })
        .collect();
    let a = hand_made(findings);
    let page = html::render(&a, None, &Default::default());
    let g = &page[page.find("id=\"f-blurry\"").unwrap()..];
    let g = &g[..g.find("</section>").unwrap()];
    assert_eq!(g.matches("<figure").count(), 60);
    assert!(g.contains(
        "Showing the first 60 of 100 findings; all 100 rows are in <code>findings.csv</code>"
    ));
    // Highest score first: sample 0 is shown, sample 99 is not.
    assert!(g.contains("<b title=\"train/0\">"));
    assert!(!g.contains("<b title=\"train/99\">"));
    // No dataset: placeholders, not broken images.
    assert!(g.contains("class=\"missing\""));
    assert!(
        !page.contains("id=\"f-dark\""),
        "no gallery for a kind without findings"
    );
}

// ---------------------------------------------------------------- whole runs

#[test]
fn end_to_end_folder_dataset_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ds");
    util::folder_dataset(&root);
    let ds = dlscope_data::open(root.to_str().unwrap()).unwrap();
    let a = analyze(&ds, &Settings::default(), &|_| {}).unwrap();

    let out_path = tmp.path().join("out");
    let out = OutDir::create(&out_path, &[&root], false).unwrap();
    let written = write_analysis(out.path(), &a, &ds, &WriteOptions::default()).unwrap();
    assert_eq!(written.len(), 4);
    out.commit().unwrap();

    let (header, rows) = read_csv(&out_path.join("findings.csv"));
    assert_eq!(header, FINDINGS_COLUMNS);
    let of = |kind: &str| -> Vec<&Vec<String>> { rows.iter().filter(|r| r[0] == kind).collect() };

    // The copied file and its original: one exact-duplicate group.
    let exact: Vec<_> = of("exact_duplicate")
        .into_iter()
        .filter(|r| r[2] == "train/cat/c1.png" || r[2] == "train/dog/copy of c1.png")
        .collect();
    assert_eq!(exact.len(), 2, "{rows:?}");
    assert!(exact
        .iter()
        .all(|r| r[1] == "train" && !r[3].is_empty() && r[4] == "1"));
    assert_eq!(exact[0][3], exact[1][3], "same group");
    // Each names the other as its partner.
    for (a, b) in [(0, 1), (1, 0)] {
        assert_eq!(
            (exact[a][6].as_str(), &exact[a][7]),
            ("train", &exact[b][2])
        );
    }
    // The same pixels under two labels is a label conflict too.
    assert!(of("label_conflict")
        .iter()
        .any(|r| r[2] == "train/dog/copy of c1.png"));
    // The dark image, and nothing else, is dark.
    let dark = of("dark");
    assert_eq!(dark.len(), 1, "{dark:?}");
    assert_eq!(
        (
            dark[0][1].as_str(),
            dark[0][2].as_str(),
            dark[0][3].as_str()
        ),
        ("train", "train/cat/dark.png", "")
    );
    let score: f64 = dark[0][4].parse().unwrap();
    assert!(score > 0.8 && score <= 1.0, "{score}");
    // The test copy of a train image is a leak; its train original is not.
    let leaks = of("leak");
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert_eq!(
        (leaks[0][1].as_str(), leaks[0][2].as_str()),
        ("test", "test/dog/leak.png")
    );
    assert!(leaks[0][5].contains("train/dog/d2.png"), "{}", leaks[0][5]);
    // Ids are paths relative to the dataset root, so they name the split folder.
    assert!(
        rows.iter().all(|r| r[2].starts_with(&format!("{}/", r[1]))),
        "{rows:?}"
    );

    // features.csv: one row per sample, ids and classes filled in.
    let (header, feats) = read_csv(&out_path.join("features.csv"));
    assert_eq!(header, FEATURES_COLUMNS);
    assert_eq!(feats.len(), ds.len());
    let dark_row = feats.iter().find(|r| r[2] == "train/cat/dark.png").unwrap();
    assert_eq!(
        (dark_row[0].as_str(), dark_row[4].as_str()),
        ("train", "cat")
    );
    let p99: u32 = dark_row[23].parse().unwrap();
    assert!(p99 <= 30, "grey_p99 {p99}");
    assert_eq!(dark_row[10], "png");

    // report.json agrees with findings.csv.
    let report = Report::read(&out_path.join("report.json")).unwrap();
    assert_eq!(report.findings.len(), rows.len());
    assert_eq!(report.counts[&FindingKind::Dark], 1);
    assert_eq!(report.dataset.splits.len(), 2);
    let page = std::fs::read_to_string(out_path.join("report.html")).unwrap();
    assert!(page.contains("cat/dark.png"));
    // The input was not touched: same files as before.
    let again = dlscope_data::open(root.to_str().unwrap()).unwrap();
    assert_eq!(again.len(), ds.len());
}

#[test]
fn shard_outputs_merge_into_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ds");
    util::folder_dataset(&root);
    let ds = dlscope_data::open(root.to_str().unwrap()).unwrap();
    let s = Settings::default();
    let whole = analyze(&ds, &s, &|_| {}).unwrap();

    let mut dirs = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("part{i}"));
        std::fs::create_dir(&dir).unwrap();
        let shard: Shard = format!("{i}/3").parse().unwrap();
        let part = analyze_shard(&ds, &s, shard, &|_| {}).unwrap();
        let files = shards::write_shard(&dir, &part, &ds).unwrap();
        assert!(files[0].ends_with(format!("shard-{i}-of-3.json.gz")));
        let (_, rows) = read_csv(&dir.join("features.csv"));
        assert_eq!(rows.len(), part.features.len());
        dirs.push(dir);
    }
    // Missing a shard: refused, naming a sample.
    let err = shards::read_and_merge(&dirs[..2]).unwrap_err();
    assert!(err.to_string().contains("none of the shards"), "{err}");

    let merged = shards::read_and_merge(&dirs).unwrap();
    let a = finish(merged, &ds, &s, &|_| {}).unwrap();
    assert_eq!(a, whole);

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(shards::read_and_merge(&[empty]).is_err());
}

/// Real data: Fashion-MNIST (skipped with a note where it is not installed).
#[test]
fn fashion_mnist_report() {
    let dir = Path::new("/usr/share/datasets/fashion-mnist");
    if !dir.join("t10k-images-idx3-ubyte.gz").exists() {
        eprintln!("skipped: Fashion-MNIST not found at {}", dir.display());
        return;
    }
    // By catalog name, so classes have their names (found in /usr/share/datasets).
    let ds = dlscope_data::open("fashion-mnist").unwrap();
    let a = analyze(&ds, &Settings::default(), &|_| {}).unwrap();
    let text = summary::render_analysis(&a);
    // The well-known constants of Fashion-MNIST train.
    assert!(text.contains("mean=(0.2860,) std=(0.3530,)"), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = OutDir::create(&out, &[&ds.root], false).unwrap();
    write_analysis(o.path(), &a, &ds, &WriteOptions::default()).unwrap();
    o.commit().unwrap();
    let (_, feats) = read_csv(&out.join("features.csv"));
    assert_eq!(feats.len(), 70_000);
    let (_, rows) = read_csv(&out.join("findings.csv"));
    assert_eq!(rows.len(), a.findings.len());
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("T-shirt/top"), "class names in the page");
    assert!(page.len() < 20_000_000, "page of {} bytes", page.len());
}
