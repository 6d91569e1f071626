//! Tests of the `.npy` format reader: dtypes, byte and memory orders, refusals.

use super::format::{MAGIC, parse, parse_header};
use std::path::Path;

fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let f = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut v = MAGIC.to_vec();
    v.extend_from_slice(&[1, 0]);
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn reads_each_dtype_order_and_layout() {
    let p = Path::new("a.npy");
    let f: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_be_bytes()).collect();
    let bytes = npy(">f4", false, "(2,)", &f);
    let a = parse(p, &bytes).unwrap();
    assert_eq!((a.get(0), a.get(1)), (1.5, -2.0));
    let bytes = npy("<i2", false, "(2,)", &[0xff, 0xff, 7, 0]);
    let a = parse(p, &bytes).unwrap();
    assert_eq!((a.get(0), a.get(1)), (-1.0, 7.0));
    // Half floats: 0x3c00 = 1.0, 0xc000 = -2.0, 0x0001 = 2^-24 (the smallest subnormal).
    let bytes = npy("<f2", false, "(3,)", &[0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]);
    let a = parse(p, &bytes).unwrap();
    assert_eq!((a.get(0), a.get(1), a.get(2)), (1.0, -2.0, 2f64.powi(-24)));
    // Fortran order: the 2x3 array [[0, 1, 2], [3, 4, 5]] stored column by column.
    let bytes = npy("|u1", true, "(2, 3)", &[0, 3, 1, 4, 2, 5]);
    let a = parse(p, &bytes).unwrap();
    assert_eq!((0..6).map(|c| a.get(c)).collect::<Vec<_>>(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
}

#[test]
fn refuses_what_it_cannot_read() {
    let p = Path::new("a.npy");
    let cases: [(Vec<u8>, &str); 6] = [
        (npy("|O", false, "(1,)", &[0; 8]), "dtype \"|O\" (Python objects)"),
        (npy("<U3", false, "(1,)", &[0; 12]), "unicode strings"),
        (npy("<c8", false, "(1,)", &[0; 8]), "complex"),
        (npy("<f4", false, "(4,)", &[0; 8]), "is truncated: its header declares shape (4,) of <f4 (16 bytes"),
        (npy("<f4", false, "(1,)", &[0; 8]), "has extra bytes"),
        (MAGIC.to_vec(), "ends inside its .npy header"),
    ];
    for (bytes, want) in cases {
        let err = parse(p, &bytes).err().expect(want).to_string();
        assert!(err.contains(want), "got {err:?}, want {want:?}");
    }
    let mut bytes = npy("<f4", false, "(1,)", &[0; 4]);
    bytes[6] = 9;
    assert!(parse(p, &bytes).err().unwrap().to_string().contains("version 9.0"));
    let structured = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
    assert!(parse_header(structured).err().unwrap().contains("structured"));
}
