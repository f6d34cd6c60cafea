// Label-pair and fused-argmax confusion counting (see counting.py for the launchers).
//
// Every kernel: a grid-stride loop over the elements, a block-private histogram in shared
// memory (or global atomics for large C), invalid elements counted into
// invalid = [n_invalid, first_position] on the device. Kernels never raise and never write
// out of bounds.

// how one label pair is counted: ignore, bounds (or lookup table), weight
template <typename TT, typename TP, typename ACC, bool LUT> struct PairCounter {
    typedef typename cond_t<(sizeof(TT) == 8 || sizeof(TP) == 8), unsigned long long, unsigned int>::type U;
    long long C;
    int has_ignore;
    TT ignore;
    const int* __restrict__ lut;
    long long lut_size, lut_lo;
    const void* __restrict__ w;
    int wcode;
    long long sw;
    Hist<ACC> h;
    Bad bad;

    __device__ __forceinline__ void operator()(TT a, TP b, long long pos) {
        if (has_ignore && a == ignore) return;
        unsigned long long bin;
        if (LUT) {
            unsigned long long ia = (unsigned long long)((long long)a - lut_lo);
            unsigned long long ib = (unsigned long long)((long long)b - lut_lo);
            if (ia >= (unsigned long long)lut_size || ib >= (unsigned long long)lut_size) return;
            int ma = __ldg(lut + ia), mb = __ldg(lut + ib);
            if ((ma | mb) < 0) return;
            bin = (unsigned long long)ma * (unsigned long long)C + (unsigned long long)mb;
        } else {
            // negative values wrap above any valid C: one unsigned compare checks both bounds
            U ua = (U)(long long)a, ub = (U)(long long)b;
            if (ua >= (U)C || ub >= (U)C) {
                bad.hit(pos);
                return;
            }
            bin = (unsigned long long)ua * (unsigned long long)C + (unsigned long long)ub;
        }
        ACC wv = load_weight<ACC>(w, wcode, pos * sw);
        if (!weight_ok<ACC>(wv)) {
            bad.hit(pos);
            return;
        }
        h.add(bin, wv);
    }
};

// t, p: element i at t[i * st], p[i * sp]. With VEC the arrays are contiguous and
// t + head, p + head are aligned to V elements: the body is read with one 16-byte load per
// array and thread (V = 16 / widest itemsize); head and tail elements go one by one.
template <typename TT, typename TP, typename ACC, bool LUT, bool VEC>
__global__ void __launch_bounds__(FASTCM_BLOCK) count_pairs(
    const TT* __restrict__ t, const TP* __restrict__ p, long long n, long long st, long long sp, long long head,
    const void* __restrict__ w, int wcode, long long sw, long long C, int has_ignore, TT ignore,
    const int* __restrict__ lut, long long lut_size, long long lut_lo, int reps,
    typename acc_traits<ACC>::global_t* out, long long* invalid)
{
    PairCounter<TT, TP, ACC, LUT> f;
    f.C = C;
    f.has_ignore = has_ignore;
    f.ignore = ignore;
    f.lut = lut;
    f.lut_size = lut_size;
    f.lut_lo = lut_lo;
    f.w = w;
    f.wcode = wcode;
    f.sw = sw;
    f.h.init(fastcm_smem, out, reps, C * C);
    const long long g = global_thread(), gs = grid_threads();
    if (VEC) {
        const int V = 16 / (sizeof(TT) > sizeof(TP) ? sizeof(TT) : sizeof(TP));
        const long long body = (n - head) / V;
        const Pack<TT, V>* __restrict__ tv = (const Pack<TT, V>*)(t + head);
        const Pack<TP, V>* __restrict__ pv = (const Pack<TP, V>*)(p + head);
        for (long long i = g; i < body; i += gs) {
            Pack<TT, V> a;
            Pack<TP, V> b;
            a.raw = tv[i].raw;
            b.raw = pv[i].raw;
#pragma unroll
            for (int k = 0; k < V; ++k) f(a.v[k], b.v[k], head + i * V + k);
        }
        const long long tail0 = head + body * V;
        const long long extra = head + (n - tail0);
        for (long long j = g; j < extra; j += gs) {
            long long i = j < head ? j : tail0 + (j - head);
            f(t[i], p[i], i);
        }
    } else {
        for (long long i = g; i < n; i += gs) f(t[i * st], p[i * sp], i);
    }
    f.h.flush();
    f.bad.commit(invalid);
}

// present[v - lo] = 1 for every value v of the kept pairs inside lo..lo+size-1
template <typename TT, typename TP>
__global__ void __launch_bounds__(FASTCM_BLOCK) label_presence(
    const TT* __restrict__ t, const TP* __restrict__ p, long long n, long long st, long long sp,
    int has_ignore, TT ignore, long long lo, long long size, unsigned char* present)
{
    const long long gs = grid_threads();
    for (long long i = global_thread(); i < n; i += gs) {
        TT a = t[i * st];
        if (has_ignore && a == ignore) continue;
        unsigned long long ia = (unsigned long long)((long long)a - lo);
        unsigned long long ib = (unsigned long long)((long long)p[i * sp] - lo);
        if (ia < (unsigned long long)size) present[ia] = 1;  // benign race: every writer stores 1
        if (ib < (unsigned long long)size) present[ib] = 1;
    }
}

// how the truth of one scored prediction is counted (same rules as the numpy reference:
// ignore first, then the optional table, which drops; then bounds, NaN and weight). Its
// fields are PairCounter's: each counter is an aggregate its launcher fills in order, and a
// shared base would change that initialisation in code no device has run yet.
template <typename TT, typename ACC> struct ScoreCounter {
    long long C;
    int has_ignore;
    TT ignore;
    const int* __restrict__ lut;
    long long lut_size, lut_lo;
    const void* __restrict__ w;
    int wcode;
    long long sw;
    Hist<ACC> h;
    Bad bad;

    __device__ __forceinline__ void operator()(TT a, long long arg, bool nan, long long pos) {
        if (has_ignore && a == ignore) return;
        long long ta = (long long)a;
        if (lut) {
            unsigned long long ia = (unsigned long long)(ta - lut_lo);
            if (ia >= (unsigned long long)lut_size) return;
            int m = __ldg(lut + ia);
            if (m < 0) return;
            ta = m;
        }
        if (nan || (unsigned long long)ta >= (unsigned long long)C) {
            bad.hit(pos);
            return;
        }
        ACC wv = load_weight<ACC>(w, wcode, pos * sw);
        if (!weight_ok<ACC>(wv)) {
            bad.hit(pos);
            return;
        }
        h.add((unsigned long long)ta * (unsigned long long)C + (unsigned long long)arg, wv);
    }
};

#define FASTCM_SCORE_SETUP                     \
    ScoreCounter<TT, ACC> f;                   \
    f.C = C;                                   \
    f.has_ignore = has_ignore;                 \
    f.ignore = ignore;                         \
    f.lut = lut_size > 0 ? lut : (const int*)0; \
    f.lut_size = lut_size;                     \
    f.lut_lo = lut_lo;                         \
    f.w = w;                                   \
    f.wcode = wcode;                           \
    f.sw = sw;                                 \
    f.h.init(fastcm_smem, out, reps, C * C);

// Fused argmax over (N, C) rows: G lanes (a power of two <= min(C, 32)) share a row and
// read it coalesced; each keeps the first maximum of its columns, then a shuffle tree picks
// the largest value, ties to the lowest column. Any NaN in a row makes it invalid.
template <typename TT, typename TS, typename ACC>
__global__ void __launch_bounds__(FASTCM_BLOCK) count_score_rows(
    const TT* __restrict__ t, long long st, const TS* __restrict__ s, long long s0, long long s1, long long n, int G,
    const void* __restrict__ w, int wcode, long long sw, long long C, int has_ignore, TT ignore,
    const int* __restrict__ lut, long long lut_size, long long lut_lo, int reps,
    typename acc_traits<ACC>::global_t* out, long long* invalid)
{
    typedef typename key_of<TS>::type K;
    FASTCM_SCORE_SETUP
    const int lane = threadIdx.x & 31;
    const int sub = lane & (G - 1);
    const long long rows_per_warp = 32 / G;
    const long long warp = global_thread() >> 5, warps = grid_threads() >> 5;
    // the loop bound is uniform over a warp, so every lane reaches every shuffle
    for (long long base = warp * rows_per_warp; base < n; base += warps * rows_per_warp) {
        const long long row = base + lane / G;
        const bool active = row < n;
        K best = (K)0;
        long long arg = 0;
        bool has = false, nan = false;
        if (active) {
            const TS* r = s + row * s0;
            for (long long j = sub; j < C; j += G) {
                K v = as_key(r[j * s1]);
                nan |= is_nan(v);
                if (!has || v > best) {
                    best = v;
                    arg = j;
                    has = true;
                }
            }
        }
        for (int off = G >> 1; off > 0; off >>= 1) {
            K ov = __shfl_xor_sync(0xffffffffu, best, off);
            long long oa = __shfl_xor_sync(0xffffffffu, arg, off);
            int oh = __shfl_xor_sync(0xffffffffu, (int)has, off);
            int on = __shfl_xor_sync(0xffffffffu, (int)nan, off);
            if (oh && (!has || ov > best || (ov == best && oa < arg))) {
                best = ov;
                arg = oa;
                has = true;
            }
            nan |= (on != 0);
        }
        if (active && sub == 0) f(t[row * st], arg, nan, row);
    }
    f.h.flush();
    f.bad.commit(invalid);
}

// Fused argmax over (N, C, S) (segmentation): one thread per pixel q = n * S + x, reading
// s[n, c, x] for every class c (consecutive threads read consecutive pixels: coalesced).
template <typename TT, typename TS, typename ACC>
__global__ void __launch_bounds__(FASTCM_BLOCK) count_score_pixels(
    const TT* __restrict__ t, long long t0, long long t1, const TS* __restrict__ s, long long s0, long long s1,
    long long s2, long long n, long long S, const void* __restrict__ w, int wcode, long long sw, long long C,
    int has_ignore, TT ignore, const int* __restrict__ lut, long long lut_size, long long lut_lo, int reps,
    typename acc_traits<ACC>::global_t* out, long long* invalid)
{
    typedef typename key_of<TS>::type K;
    FASTCM_SCORE_SETUP
    const long long total = n * S, gs = grid_threads();
    for (long long q = global_thread(); q < total; q += gs) {
        const long long row = q / S, x = q - row * S;
        const TS* r = s + row * s0 + x * s2;
        K best = as_key(r[0]);
        bool nan = is_nan(best);
        long long arg = 0;
        for (long long c = 1; c < C; ++c) {
            K v = as_key(r[c * s1]);
            nan |= is_nan(v);
            bool gt = v > best;  // strict: ties keep the lowest class
            arg = gt ? c : arg;
            best = gt ? v : best;
        }
        f(t[row * t0 + x * t1], arg, nan, q);
    }
    f.h.flush();
    f.bad.commit(invalid);
}

// per-class counts of label pairs into out (3*C,): true class a at out[a], predicted class b
// at out[C + b], correct pairs (a == b) at out[2*C + a]. The metrics of the diagonal and the
// margins at many classes, in O(C) memory: global atomics (3*C counters rarely fit shared
// memory, and rows spread over C classes seldom collide). Same rules as count_pairs.
template <typename TT, typename TP, typename ACC, bool LUT>
__global__ void __launch_bounds__(FASTCM_BLOCK) class_counts(
    const TT* __restrict__ t, const TP* __restrict__ p, long long n, long long st, long long sp,
    const void* __restrict__ w, int wcode, long long sw, long long C, int has_ignore, TT ignore,
    const int* __restrict__ lut, long long lut_size, long long lut_lo,
    typename acc_traits<ACC>::global_t* out, long long* invalid)
{
    Hist<ACC> h;
    h.init(fastcm_smem, out, 0, 3 * C);
    Bad bad;
    const unsigned long long uC = (unsigned long long)C;
    const long long gs = grid_threads();
    for (long long i = global_thread(); i < n; i += gs) {
        TT a = t[i * st];
        if (has_ignore && a == ignore) continue;
        unsigned long long ua = (unsigned long long)((long long)a - (LUT ? lut_lo : 0));
        unsigned long long ub = (unsigned long long)((long long)p[i * sp] - (LUT ? lut_lo : 0));
        if (LUT) {
            if (ua >= (unsigned long long)lut_size || ub >= (unsigned long long)lut_size) continue;
            int ma = __ldg(lut + ua), mb = __ldg(lut + ub);
            if ((ma | mb) < 0) continue;
            ua = (unsigned long long)ma;
            ub = (unsigned long long)mb;
        } else if (ua >= uC || ub >= uC) {  // negative values wrap above any valid C
            bad.hit(i);
            continue;
        }
        ACC wv = load_weight<ACC>(w, wcode, i * sw);
        if (!weight_ok<ACC>(wv)) {
            bad.hit(i);
            continue;
        }
        h.add(ua, wv);
        h.add(uC + ub, wv);
        if (ua == ub) h.add(2 * uC + ua, wv);
    }
    h.flush();
    bad.commit(invalid);
}
