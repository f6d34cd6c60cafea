// fastcm GPU kernels: shared helpers, prepended to every other source by _kernels.py.
// Self-contained on purpose (no #include): the same text compiles under NVRTC (CuPy
// RawModule) and under nvcc (the CI syntax check), with or without a device.

#define FASTCM_BLOCK 256
#define FASTCM_LLONG_MAX 9223372036854775807LL

template <bool B, typename A, typename C> struct cond_t { typedef A type; };
template <typename A, typename C> struct cond_t<false, A, C> { typedef C type; };

// float16 travels as its bits; cvt widens it exactly, without cuda_fp16.h
struct half_bits { unsigned short bits; };

__device__ __forceinline__ float half_to_float(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

// value of a score as the type it is compared in: float for half, itself otherwise
template <typename T> struct real_of { typedef T type; };
template <> struct real_of<half_bits> { typedef float type; };
template <typename T> __device__ __forceinline__ T as_real(T v) { return v; }
__device__ __forceinline__ float as_real(half_bits v) { return half_to_float(v.bits); }

template <typename T> __device__ __forceinline__ bool is_nan(T v) { return v != v; }
template <typename T> __device__ __forceinline__ double as_double(T v) { return (double)v; }
__device__ __forceinline__ double as_double(half_bits v) { return (double)half_to_float(v.bits); }

// Weights are read through a dtype code (uniform branch), which keeps the number of
// template instantiations small: 1..8 int8,uint8,int16,uint16,int32,uint32,int64,uint64;
// 9 float16, 10 float32, 11 float64.
__device__ __forceinline__ double weight_as_double(const void* w, int code, long long i) {
    switch (code) {
        case 1: return (double)((const signed char*)w)[i];
        case 2: return (double)((const unsigned char*)w)[i];
        case 3: return (double)((const short*)w)[i];
        case 4: return (double)((const unsigned short*)w)[i];
        case 5: return (double)((const int*)w)[i];
        case 6: return (double)((const unsigned int*)w)[i];
        case 7: return (double)((const long long*)w)[i];
        case 8: return (double)((const unsigned long long*)w)[i];
        case 9: return (double)half_to_float(((const unsigned short*)w)[i]);
        case 10: return (double)((const float*)w)[i];
        default: return ((const double*)w)[i];
    }
}

__device__ __forceinline__ long long weight_as_int(const void* w, int code, long long i) {
    switch (code) {
        case 1: return (long long)((const signed char*)w)[i];
        case 2: return (long long)((const unsigned char*)w)[i];
        case 3: return (long long)((const short*)w)[i];
        case 4: return (long long)((const unsigned short*)w)[i];
        case 5: return (long long)((const int*)w)[i];
        case 6: return (long long)((const unsigned int*)w)[i];
        case 7: return ((const long long*)w)[i];
        default: return (long long)((const unsigned long long*)w)[i];  // wraps as int64 does on the CPU
    }
}

// The accumulator of a histogram: ACC = unsigned int (plain counts, 32-bit shared
// counters flushed to 64-bit), long long (integer weights, exact) or double (float weights).
template <typename ACC> struct acc_traits;
template <> struct acc_traits<unsigned int> {
    typedef unsigned int shared_t;
    typedef unsigned long long global_t;
    static const bool weighted = false;
};
template <> struct acc_traits<long long> {
    typedef unsigned long long shared_t;  // two's complement: unsigned adds are signed adds
    typedef unsigned long long global_t;
    static const bool weighted = true;
};
template <> struct acc_traits<double> {
    typedef double shared_t;
    typedef double global_t;
    static const bool weighted = true;
};

template <typename ACC> __device__ __forceinline__ ACC load_weight(const void* w, int code, long long i);
template <> __device__ __forceinline__ unsigned int load_weight<unsigned int>(const void*, int, long long) { return 1u; }
template <> __device__ __forceinline__ long long load_weight<long long>(const void* w, int code, long long i) {
    return weight_as_int(w, code, i);
}
template <> __device__ __forceinline__ double load_weight<double>(const void* w, int code, long long i) {
    return weight_as_double(w, code, i);
}
template <typename ACC> __device__ __forceinline__ bool weight_ok(ACC v) { return true; }
template <> __device__ __forceinline__ bool weight_ok<double>(double v) { return v - v == 0.0; }

// A block-private histogram in shared memory (reps > 0: `reps` interleaved copies, copy =
// lane % reps, so lanes of a warp hit distinct banks), or global atomics (reps == 0).
// Every counter of a copy counts at most the elements of its block: the launcher bounds
// elements per block below 2**31, so 32-bit shared counters cannot overflow.
template <typename ACC> struct Hist {
    typedef typename acc_traits<ACC>::shared_t S;
    typedef typename acc_traits<ACC>::global_t G;
    S* sh;
    G* out;
    unsigned int reps;
    unsigned int slot;
    long long nbins;

    __device__ __forceinline__ void init(void* smem, G* global_out, int reps_, long long nbins_) {
        out = global_out;
        reps = (unsigned int)reps_;
        nbins = nbins_;
        sh = reps_ > 0 ? (S*)smem : (S*)0;
        slot = reps_ > 0 ? (threadIdx.x & 31u) & (reps - 1u) : 0u;
        if (sh) {
            for (long long i = threadIdx.x; i < nbins * reps; i += blockDim.x) sh[i] = (S)0;
        }
        __syncthreads();
    }
    __device__ __forceinline__ void add(unsigned long long bin, ACC w) {
        if (sh) atomicAdd(sh + bin * reps + slot, (S)w);
        else atomicAdd(out + bin, (G)w);
    }
    __device__ __forceinline__ void flush() {
        if (!sh) return;
        __syncthreads();
        for (long long b = threadIdx.x; b < nbins; b += blockDim.x) {
            G total = (G)0;
            for (unsigned int r = 0; r < reps; ++r) total += (G)sh[b * reps + r];
            if (total != (G)0) atomicAdd(out + b, total);
        }
    }
};

// Invalid elements: each thread keeps its count and first (smallest) position; the few
// threads that saw any add them into invalid = [n_invalid, first_position] on the device.
struct Bad {
    unsigned long long n;
    long long first;
    __device__ __forceinline__ Bad() : n(0ull), first(FASTCM_LLONG_MAX) {}
    __device__ __forceinline__ void hit(long long pos) {
        if (pos < first) first = pos;
        ++n;
    }
    __device__ __forceinline__ void commit(long long* invalid) {
        if (n) {
            atomicAdd((unsigned long long*)invalid, n);
            atomicMin(invalid + 1, first);
        }
    }
};

extern "C" __global__ void init_invalid(long long* invalid) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        invalid[0] = 0;
        invalid[1] = FASTCM_LLONG_MAX;
    }
}

extern "C" __global__ void finish_invalid(long long* invalid) {
    if (threadIdx.x == 0 && blockIdx.x == 0 && invalid[0] == 0) invalid[1] = -1;
}

__device__ __forceinline__ long long global_thread() { return (long long)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ long long grid_threads() { return (long long)gridDim.x * blockDim.x; }

// raw words for vectorised loads of V elements of T (V * sizeof(T) in {2, 4, 8, 16} bytes)
template <int BYTES> struct raw_word;
template <> struct raw_word<1> { typedef unsigned char type; };
template <> struct raw_word<2> { typedef unsigned short type; };
template <> struct raw_word<4> { typedef unsigned int type; };
template <> struct raw_word<8> { typedef uint2 type; };
template <> struct raw_word<16> { typedef uint4 type; };
template <typename T, int V> union Pack {
    typename raw_word<sizeof(T) * V>::type raw;
    T v[V];
};

// scores are compared as: float (float16, float32), double, long long or unsigned long long
template <typename T> struct key_of { typedef long long type; };
template <> struct key_of<unsigned char> { typedef unsigned long long type; };
template <> struct key_of<unsigned short> { typedef unsigned long long type; };
template <> struct key_of<unsigned int> { typedef unsigned long long type; };
template <> struct key_of<unsigned long long> { typedef unsigned long long type; };
template <> struct key_of<float> { typedef float type; };
template <> struct key_of<double> { typedef double type; };
template <> struct key_of<half_bits> { typedef float type; };
template <typename T> __device__ __forceinline__ typename key_of<T>::type as_key(T v) { return (typename key_of<T>::type)v; }
__device__ __forceinline__ float as_key(half_bits v) { return half_to_float(v.bits); }

extern __shared__ __align__(16) unsigned char fastcm_smem[];
