//! Smoke test of the bulk benchmark harness: 1 MB through both stacks, every byte checked.

use stackgen_benches::{BulkParams, floor, ours, pattern, theirs};

fn params(window_segments: usize) -> BulkParams {
    BulkParams {
        bytes: 1 << 20,
        window_segments,
        verify: true,
    }
}

#[test]
fn ours_moves_one_megabyte_intact() {
    let p = pattern();
    for w in [4, 32] {
        let out = ours::bulk_ours(&params(w), &p);
        assert_eq!(out.received, 1 << 20, "window {w}");
        assert!(out.intact, "window {w}: corrupted stream");
    }
}

#[test]
fn smoltcp_moves_one_megabyte_intact() {
    let p = pattern();
    for w in [4, 32] {
        let out = theirs::bulk_smoltcp(&params(w), &p);
        assert_eq!(out.received, 1 << 20, "window {w}");
        assert!(out.intact, "window {w}: corrupted stream");
    }
}

#[test]
fn floor_covers_every_byte() {
    let p = pattern();
    // Different data gives a different sum: the floor really reads the bytes.
    let a = floor::bulk_floor(&params(4), &p);
    let b = floor::bulk_floor(
        &BulkParams {
            bytes: (1 << 20) - 1,
            ..params(4)
        },
        &p,
    );
    assert_ne!(a, b);
}
