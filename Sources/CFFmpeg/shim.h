// Small inline shims for FFmpeg macros and version differences that Swift cannot import.
// Every FFmpeg 5.1 (Debian bookworm) vs 7.1 (Debian trixie) difference lives here.
#ifndef BITSPOT_CFFMPEG_SHIM_H
#define BITSPOT_CFFMPEG_SHIM_H

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/avutil.h>
#include <libavutil/crc.h>
#include <libavutil/mem.h>
#include <libavutil/murmur3.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/sha.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>

static inline int bitspot_averror(int e) { return AVERROR(e); }
static inline int bitspot_averror_eof(void) { return AVERROR_EOF; }
static inline int bitspot_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int bitspot_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int bitspot_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int bitspot_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }
static inline int bitspot_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int bitspot_averror_exit(void) { return AVERROR_EXIT; }
static inline int64_t bitspot_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int bitspot_time_base(void) { return AV_TIME_BASE; }

/// Writes FFmpeg's message for `code` into `buf` (always NUL-terminated).
static inline void bitspot_strerror(int code, char *buf, size_t size) {
    if (av_strerror(code, buf, size) < 0) snprintf(buf, size, "FFmpeg error %d", code);
}

/// Whether a decoded frame is a key frame (AVFrame.key_frame was deprecated in FFmpeg 6.1).
static inline int bitspot_frame_is_key(const AVFrame *f) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 29, 100)
    return (f->flags & AV_FRAME_FLAG_KEY) != 0;
#else
    return f->key_frame;
#endif
}

/// AV_CODEC_CAP_HARDWARE: the decoder is backed by a hardware implementation.
static inline int bitspot_codec_cap_hardware(void) { return AV_CODEC_CAP_HARDWARE; }

/// Whether a packet carries a key frame.
static inline int bitspot_packet_is_key(const AVPacket *p) { return (p->flags & AV_PKT_FLAG_KEY) != 0; }

/// Marks a frame as a key frame (for encoders).
static inline void bitspot_frame_set_key(AVFrame *f, int key) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 29, 100)
    if (key) f->flags |= AV_FRAME_FLAG_KEY; else f->flags &= ~AV_FRAME_FLAG_KEY;
#else
    f->key_frame = key;
#endif
}

/// Frame duration in stream time base (AVFrame.pkt_duration became AVFrame.duration in 6.0).
static inline int64_t bitspot_frame_duration(const AVFrame *f) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    return f->duration;
#else
    return f->pkt_duration;
#endif
}

/// The codec context's flag for a global header, set on an encoder when the muxer wants one.
static inline int bitspot_needs_global_header(const AVFormatContext *oc) {
    return (oc->oformat->flags & AVFMT_GLOBALHEADER) != 0;
}
static inline void bitspot_set_global_header(AVCodecContext *c) { c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; }
static inline int bitspot_fmt_nofile(const AVFormatContext *oc) { return (oc->oformat->flags & AVFMT_NOFILE) != 0; }

/// Silences or restores FFmpeg's own log output.
static inline void bitspot_set_log_quiet(int quiet) { av_log_set_level(quiet ? AV_LOG_QUIET : AV_LOG_ERROR); }

/// The CRC-32 (IEEE, as in zlib/PNG) of a buffer, through libavutil. Pass 0 to start.
static inline uint32_t bitspot_crc32(uint32_t crc, const uint8_t *data, size_t len) {
    return av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), crc ^ 0xFFFFFFFFu, data, len) ^ 0xFFFFFFFFu;
}

/// 128-bit MurmurHash3 (libavutil) of `rows` rows of `row_bytes` bytes, `stride` bytes apart, hashed as
/// one stream into `out` (16 bytes). Returns 0 when out of memory. About 6x faster than av_crc's CRC-32.
static inline int bitspot_murmur3_rows(const uint8_t *base, ptrdiff_t stride, int row_bytes, int rows, uint8_t *out) {
    struct AVMurMur3 *c = av_murmur3_alloc();
    if (!c) return 0;
    av_murmur3_init(c);
    for (int y = 0; y < rows; y++) av_murmur3_update(c, base + y * stride, row_bytes);
    av_murmur3_final(c, out);
    av_free(c);
    return 1;
}

/// SHA-256 of a buffer through libavutil; `out` must hold 32 bytes.
static inline int bitspot_sha256(const uint8_t *data, size_t len, uint8_t *out) {
    struct AVSHA *sha = av_sha_alloc();
    if (!sha) return -1;
    av_sha_init(sha, 256);
    // av_sha_update takes an unsigned int length before FFmpeg 6 and size_t after; feed in chunks.
    while (len > 0) {
        unsigned int n = len > 0x40000000u ? 0x40000000u : (unsigned int)len;
        av_sha_update(sha, data, n);
        data += n; len -= n;
    }
    av_sha_final(sha, out);
    av_free(sha);
    return 0;
}

/// The shared libraries BitSpot opens only when a command needs them (`FFmpegLibraries.swift`): their
/// names for the FFmpeg these headers belong to.
#define BITSPOT_STRINGIFY2(x) #x
#define BITSPOT_STRINGIFY(x) BITSPOT_STRINGIFY2(x)
static inline const char *bitspot_avdevice_soname(void) { return "libavdevice.so." BITSPOT_STRINGIFY(LIBAVDEVICE_VERSION_MAJOR); }
static inline const char *bitspot_avfilter_soname(void) { return "libavfilter.so." BITSPOT_STRINGIFY(LIBAVFILTER_VERSION_MAJOR); }

/// Sets an option of a filter (its private options included), for building filter graphs without
/// a filter string, so option values (a label's text, a font path) need no escaping.
static inline int bitspot_filter_set(AVFilterContext *f, const char *key, const char *value) {
    return av_opt_set(f, key, value, AV_OPT_SEARCH_CHILDREN);
}

#endif
