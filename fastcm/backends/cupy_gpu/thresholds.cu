// The threshold sweep: one pass histograms every score over the gaps between sorted
// thresholds, split by truth (see thresholds.py and numpy_ref/thresholds.py).

// mode 0: truth t[i * t0 + k * t1] is a 0/1 indicator (binary, or multilabel columns);
// mode 1: truth t[i * t0] is a class index and column k is scored one-vs-rest.
template <typename TT> __device__ __forceinline__ bool truth_is_finite(TT v) { return true; }
__device__ __forceinline__ bool truth_is_finite(float v) { return v - v == 0.0f; }
__device__ __forceinline__ bool truth_is_finite(double v) { return v - v == 0.0; }

template <typename TT, typename TS, typename ACC>
__global__ void __launch_bounds__(FASTCM_BLOCK) threshold_counts(
    const TT* __restrict__ t, long long t0, long long t1, const TS* __restrict__ s, long long s0, long long s1,
    long long N, long long K, int mode, int truth_bool, const double* __restrict__ thr, long long T, int thr_shared,
    const void* __restrict__ w, int wcode, long long sw, int reps, typename acc_traits<ACC>::global_t* out,
    long long* invalid)
{
    // shared memory: [thresholds (T doubles) when thr_shared][histogram]
    const double* th = thr;
    unsigned char* hist_mem = fastcm_smem;
    if (thr_shared) {
        double* sh = (double*)fastcm_smem;
        for (long long j = threadIdx.x; j < T; j += blockDim.x) sh[j] = thr[j];
        th = sh;
        hist_mem = fastcm_smem + ((T * 8 + 15) / 16) * 16;
    }
    Hist<ACC> h;
    h.init(hist_mem, out, reps, K * (T + 1) * 2);  // init syncs the block: thresholds are loaded
    Bad bad;
    const long long total = N * K, gs = grid_threads();
    for (long long q = global_thread(); q < total; q += gs) {
        const long long i = q / K, k = q - i * K;
        const double v = as_double(s[i * s0 + k * s1]);
        bool ok = v - v == 0.0;  // finite
        int pos;
        if (mode == 0) {
            TT tv = t[i * t0 + k * t1];
            ok = ok && (tv == (TT)0 || tv == (TT)1);
            pos = tv == (TT)1;
        } else {
            TT tv = t[i * t0];
            long long cls = (long long)tv;
            bool inside = truth_bool || (truth_is_finite(tv) && (unsigned long long)cls < (unsigned long long)K);
            ok = ok && inside;
            pos = cls == k;
        }
        ACC wv = load_weight<ACC>(w, wcode, i * sw);
        ok = ok && weight_ok<ACC>(wv);
        if (!ok) {
            bad.hit(q);
            continue;
        }
        long long lo = 0, hi = T;  // number of thresholds <= v (searchsorted side="right")
        while (lo < hi) {
            long long mid = (lo + hi) >> 1;
            if (th[mid] <= v) lo = mid + 1;
            else hi = mid;
        }
        h.add((unsigned long long)((k * (T + 1) + lo) * 2 + pos), wv);
    }
    h.flush();
    bad.commit(invalid);
}
