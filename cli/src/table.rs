//! Human output: left-aligned columns, two spaces apart, trailing space trimmed.

pub fn print(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).chain([header[i].len()]).max().unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `0x1234567890…abcd`: enough of a long hex id to tell ids apart in a table.
pub fn short_hex(hex: &str) -> String {
    if hex.len() <= 16 { hex.to_owned() } else { format!("{}…{}", &hex[..10], &hex[hex.len() - 4..]) }
}
