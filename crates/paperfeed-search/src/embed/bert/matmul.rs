//! Bounds-checked matrix views over `f32` slices and the one matrix product the BERT forward
//! pass needs, `dst (+)= lhs × rhs`, on top of the `gemm` crate.
//!
//! `gemm::gemm` takes raw pointers and strides. This module is the only place in the crate that
//! calls it, and it is why the module allows `unsafe`: every view is checked on construction to
//! lie inside its slice, the borrow checker keeps `dst` apart from the operands, and the product
//! runs single-threaded, so the call cannot touch memory it does not own. Threads are the
//! caller's business: the embedder runs one forward pass per core on different documents, which
//! measured faster than splitting every product across cores.
#![allow(unsafe_code)]

/// A read-only `rows × cols` matrix: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// A writable matrix view; see [`Mat`].
#[derive(Debug)]
pub(crate) struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

/// Whether the last element of a `rows × cols` view with strides `rs`, `cs` lies inside `len`.
fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)));
    last.is_some_and(|last| last < len)
}

impl<'a> Mat<'a> {
    /// A strided view. Panics when the view reaches past `data`: shapes come from a validated
    /// model config, so a bad view is a bug in this crate, never bad input.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        assert!(
            fits(data.len(), rows, cols, rs, cs),
            "matrix view {rows}x{cols} (strides {rs}, {cs}) outside a slice of {}",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// A dense row-major `rows × cols` view.
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }
}

impl<'a> MatMut<'a> {
    /// A strided writable view. Besides lying inside `data`, distinct elements must not share a
    /// memory cell, so one stride must be 1 and the other must step over a whole row or column.
    pub(crate) fn new(data: &'a mut [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        assert!(
            fits(data.len(), rows, cols, rs, cs),
            "matrix view {rows}x{cols} (strides {rs}, {cs}) outside a slice of {}",
            data.len()
        );
        let row_major = cs == 1 && (rows <= 1 || rs >= cols);
        let col_major = rs == 1 && (cols <= 1 || cs >= rows);
        assert!(
            row_major || col_major,
            "overlapping destination strides {rs}, {cs}"
        );
        Self {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// A dense row-major `rows × cols` view.
    pub(crate) fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }
}

fn stride(s: usize) -> isize {
    // A view that fits in a slice has strides below isize::MAX elements (a slice's byte length
    // fits in isize); a one-row or one-column view may carry an unused larger stride.
    isize::try_from(s).unwrap_or(isize::MAX)
}

/// `dst = lhs × rhs`, or `dst += lhs × rhs` when `accumulate`.
///
/// Panics if the shapes disagree (a bug in the caller, as for the views).
pub(crate) fn matmul(dst: MatMut<'_>, lhs: Mat<'_>, rhs: Mat<'_>, accumulate: bool) {
    let (m, n, k) = (dst.rows, dst.cols, lhs.cols);
    assert!(
        lhs.rows == m && rhs.rows == k && rhs.cols == n,
        "matmul shapes: dst {m}x{n}, lhs {}x{}, rhs {}x{}",
        lhs.rows,
        lhs.cols,
        rhs.rows,
        rhs.cols
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst.data[i * dst.rs + j * dst.cs] = 0.0;
                }
            }
        }
        return;
    }
    // SAFETY: `Mat::new`/`MatMut::new` checked that every element (i, j) of each view, at
    // offset i * rs + j * cs, lies inside its slice, and `dst` has no two elements on one cell.
    // `dst` is a unique borrow, so it cannot alias `lhs` or `rhs`. With `Parallelism::None`
    // gemm works on this thread only. `gemm` reads `dst` only when `read_dst` (accumulate) is
    // set, and every `f32` in the slices is initialised.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            stride(dst.cs),
            stride(dst.rs),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.cs),
            stride(lhs.rs),
            rhs.data.as_ptr(),
            stride(rhs.cs),
            stride(rhs.rs),
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &Mat<'_>, b: &Mat<'_>) -> Vec<f32> {
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                let mut s = 0.0f64;
                for t in 0..a.cols {
                    s += f64::from(a.data[i * a.rs + t * a.cs])
                        * f64::from(b.data[t * b.rs + j * b.cs]);
                }
                out[i * b.cols + j] = s as f32;
            }
        }
        out
    }

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn strided_products_match_a_naive_product() {
        // (m, n, k, lhs transposed?, rhs transposed?)
        for &(m, n, k, lt, rt) in &[
            (1, 1, 1, false, false),
            (7, 5, 3, false, true),
            (33, 17, 64, true, false),
            (64, 96, 32, true, true),
            (3, 130, 257, false, true),
        ] {
            let a = data(m * k, 1);
            let b = data(k * n, 2);
            let lhs = if lt {
                Mat::new(&a, m, k, 1, m)
            } else {
                Mat::row_major(&a, m, k)
            };
            let rhs = if rt {
                Mat::new(&b, k, n, 1, k)
            } else {
                Mat::row_major(&b, k, n)
            };
            let want = naive(&lhs, &rhs);
            let mut got = vec![0.5; m * n];
            matmul(MatMut::row_major(&mut got, m, n), lhs, rhs, false);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-4, "{m}x{n}x{k}: {g} vs {w}");
            }
            matmul(MatMut::row_major(&mut got, m, n), lhs, rhs, true);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - 2.0 * w).abs() < 2e-4,
                    "accumulate {m}x{n}x{k}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn writes_a_column_block_without_touching_its_neighbours() {
        // The attention context of one head is a column block of a wider matrix.
        let a = data(4 * 3, 3);
        let b = data(3 * 2, 4);
        let mut wide = [9.0f32; 4 * 6];
        matmul(
            MatMut::new(&mut wide[2..], 4, 2, 6, 1),
            Mat::row_major(&a, 4, 3),
            Mat::row_major(&b, 3, 2),
            false,
        );
        let want = naive(&Mat::row_major(&a, 4, 3), &Mat::row_major(&b, 3, 2));
        for i in 0..4 {
            assert_eq!(&wide[i * 6..i * 6 + 2], &[9.0, 9.0]);
            assert_eq!(&wide[i * 6 + 4..i * 6 + 6], &[9.0, 9.0]);
            for j in 0..2 {
                assert!((wide[i * 6 + 2 + j] - want[i * 2 + j]).abs() < 1e-5);
            }
        }
    }

    #[test]
    #[should_panic(expected = "outside a slice")]
    fn a_view_past_the_slice_is_refused() {
        let a = vec![0.0; 10];
        let _ = Mat::new(&a, 3, 4, 4, 1);
    }

    #[test]
    #[should_panic(expected = "overlapping")]
    fn an_overlapping_destination_is_refused() {
        let mut a = vec![0.0; 10];
        let _ = MatMut::new(&mut a, 3, 3, 1, 1);
    }
}
