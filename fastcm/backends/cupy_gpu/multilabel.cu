// Multilabel [tn, fp, fn, tp] counts and top-k hits (see multilabel.py).

// one thread per element q = i * L + j; bins j * 4 + 2 * truth + predicted
template <typename TT, typename TP, typename ACC>
__global__ void __launch_bounds__(FASTCM_BLOCK) multilabel_labelwise(
    const TT* __restrict__ t, long long t0, long long t1, const TP* __restrict__ p, long long p0, long long p1,
    long long N, long long L, const double* __restrict__ thr, const void* __restrict__ w, int wcode, long long sw,
    int reps, typename acc_traits<ACC>::global_t* out, long long* invalid)
{
    Hist<ACC> h;
    h.init(fastcm_smem, out, reps, L * 4);
    Bad bad;
    const long long total = N * L, gs = grid_threads();
    for (long long q = global_thread(); q < total; q += gs) {
        const long long i = q / L, j = q - i * L;
        const TT tv = t[i * t0 + j * t1];
        const double pv = as_double(p[i * p0 + j * p1]);
        if (!(tv == (TT)0 || tv == (TT)1) || !(pv - pv == 0.0)) {
            bad.hit(q);
            continue;
        }
        const int k = 2 * (tv == (TT)1) + (pv >= thr[j]);
        h.add((unsigned long long)(j * 4 + k), load_weight<ACC>(w, wcode, i * sw));
    }
    h.flush();
    bad.commit(invalid);
}

// one thread per row: out[i] = the row's [tn, fp, fn, tp] (no atomics: rows are private)
template <typename TT, typename TP, typename ACC>
__global__ void __launch_bounds__(FASTCM_BLOCK) multilabel_samplewise(
    const TT* __restrict__ t, long long t0, long long t1, const TP* __restrict__ p, long long p0, long long p1,
    long long N, long long L, const double* __restrict__ thr, const void* __restrict__ w, int wcode, long long sw,
    typename acc_traits<ACC>::global_t* out, long long* invalid)
{
    typedef typename acc_traits<ACC>::global_t G;
    Bad bad;
    const long long gs = grid_threads();
    for (long long i = global_thread(); i < N; i += gs) {
        const ACC wv = load_weight<ACC>(w, wcode, i * sw);
        G c[4] = {(G)0, (G)0, (G)0, (G)0};
        for (long long j = 0; j < L; ++j) {
            const TT tv = t[i * t0 + j * t1];
            const double pv = as_double(p[i * p0 + j * p1]);
            if (!(tv == (TT)0 || tv == (TT)1) || !(pv - pv == 0.0)) {
                bad.hit(i * L + j);
                continue;
            }
            c[2 * (tv == (TT)1) + (pv >= thr[j])] += (G)wv;
        }
        for (int k = 0; k < 4; ++k) out[i * 4 + k] = c[k];
    }
    bad.commit(invalid);
}

template <typename T> __device__ __forceinline__ T warp_sum(T v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// Top-k hits over (N, C) scores: G lanes per row count the columns ranked above the true
// one (greater, or equal at a higher column: the tie rule of the reference); a row hits
// when fewer than k do. A NaN anywhere in a row, or a true class outside 0..C-1, is invalid.
template <typename TT, typename TS, typename ACC>
__global__ void __launch_bounds__(FASTCM_BLOCK) top_k_hits(
    const TT* __restrict__ t, long long st, const TS* __restrict__ s, long long s0, long long s1, long long n,
    long long C, int G, long long k, const void* __restrict__ w, int wcode, long long sw,
    typename acc_traits<ACC>::global_t* out, long long* invalid)
{
    typedef typename key_of<TS>::type K;
    typedef typename acc_traits<ACC>::global_t Gt;
    Bad bad;
    Gt hits = (Gt)0;
    // rows shared by G lanes of a warp, as count_score_rows in counting.cu (written out: each
    // kernel's loop body differs inside the same lane bookkeeping)
    const int lane = threadIdx.x & 31;
    const int sub = lane & (G - 1);
    const long long rows_per_warp = 32 / G;
    const long long warp = global_thread() >> 5, warps = grid_threads() >> 5;
    for (long long base = warp * rows_per_warp; base < n; base += warps * rows_per_warp) {
        const long long row = base + lane / G;
        const bool active = row < n;
        long long rank = 0;
        bool nan = false, tbad = false;
        if (active) {
            const long long tv = (long long)t[row * st];
            tbad = (unsigned long long)tv >= (unsigned long long)C;
            const long long tc = tv < 0 ? 0 : (tv >= C ? C - 1 : tv);
            const TS* r = s + row * s0;
            const K ref = as_key(r[tc * s1]);
            for (long long j = sub; j < C; j += G) {
                K v = as_key(r[j * s1]);
                nan |= is_nan(v);
                rank += (v > ref) || (v == ref && j > tc);
            }
        }
        for (int off = G >> 1; off > 0; off >>= 1) {
            rank += __shfl_xor_sync(0xffffffffu, rank, off);
            nan |= __shfl_xor_sync(0xffffffffu, (int)nan, off) != 0;
        }
        if (active && sub == 0) {
            if (nan || tbad) bad.hit(row);
            else if (rank < k) hits += (Gt)load_weight<ACC>(w, wcode, row * sw);
        }
    }
    hits = warp_sum(hits);
    if (lane == 0 && hits != (Gt)0) atomicAdd(out, hits);
    bad.commit(invalid);
}
