import Foundation
import XCTest
@testable import VideoIO

/// Frame counts and timestamps of each sampling mode, and the change gate.
final class SamplingTests: XCTestCase {
    func decode(_ path: String, _ mode: SamplingMode, gate: Double? = nil) throws -> ([LumaFrame], SamplingCounters) {
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: mode, gateThreshold: gate))
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        return (frames, source.counters)
    }

    func testEveryNth() throws {
        let (frames, counters) = try decode(try Fixtures.mp4(), .every(7))
        XCTAssertEqual(frames.map(\.index), Array(stride(from: 0, to: 50, by: 7)))
        XCTAssertEqual(counters.decoded, 50)
        XCTAssertEqual(counters.droppedBySampling, 50 - frames.count)
        for f in frames { XCTAssertEqual(f.time, Double(f.index) / 25, accuracy: 0.002) }
    }

    /// `skipNonReference`: the B-frames no other frame references are never decoded; every kept frame is
    /// the first decoded one at or after its sampling point, numbered by its time, and its pixels are
    /// exactly those of the same frame in a full decode.
    func testSkippingNonReferenceFrames() throws {
        let path = try Fixtures.mpegTSWithBFrames()
        let (all, _) = try decode(path, .all)
        XCTAssertEqual(all.count, 50)
        for (mode, step) in [(SamplingMode.every(7), 7.0), (.rate(5), 5.0)] {
            let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: mode, skipNonReference: true))
            var frames: [LumaFrame] = []
            while let f = try source.next() { frames.append(f) }
            let c = source.counters
            XCTAssertLessThan(c.decoded, 50, "\(mode): non-reference frames were decoded")
            XCTAssertEqual(c.skippedNonReference, c.packetsDecoded - c.decoded)
            XCTAssertEqual(c.decoded + c.skippedNonReference, 50)
            XCTAssertEqual(c.droppedBySampling, c.decoded - frames.count)
            // Sampling points: every 7th frame, or each 0.2 s slot (5 frames at 25 fps).
            let points = step == 7 ? Array(stride(from: 0, to: 50, by: 7)) : Array(stride(from: 0, to: 50, by: 5))
            XCTAssertEqual(frames.count, points.count, "\(mode): \(frames.map(\.index))")
            for (f, p) in zip(frames, points) {
                XCTAssertTrue((p..<(p + 3)).contains(f.index), "\(mode): frame \(f.index) for point \(p)")
                XCTAssertEqual(f.time, Double(f.index) / 25, accuracy: 0.002)
                XCTAssertEqual(f.pixels, all[f.index].pixels, "\(mode): frame \(f.index) differs from the full decode")
            }
        }
        // All frames and key frames ignore it.
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: .all, skipNonReference: true))
        var n = 0
        while try source.next() != nil { n += 1 }
        XCTAssertEqual(n, 50)
    }

    /// `skipBidirectional`: where no P-frame references a B-frame, the check passes and no B-frame is
    /// decoded after it; every kept frame is still exactly the full decode's frame at its index. Where
    /// P-frames do reference B-frames, the check fails and decoding goes on as `skipNonReference`,
    /// still exact.
    func testSkippingBidirectionalFramesAfterTheCheck() throws {
        for (refs, passes) in [(1, true), (3, false)] {
            let path = try Fixtures.h264BPyramid(refs: refs)
            let (all, _) = try decode(path, .all)
            XCTAssertEqual(all.count, 100)
            func run(_ options: DecodeOptions) throws -> ([LumaFrame], SamplingCounters) {
                let source = try VideoSource(input: InputSpec(path), options: options)
                var frames: [LumaFrame] = []
                while let f = try source.next() { frames.append(f) }
                return (frames, source.counters)
            }
            let (nonref, cn) = try run(DecodeOptions(sampling: .every(7), skipNonReference: true))
            let (frames, c) = try run(DecodeOptions(sampling: .every(7), skipBidirectional: true))
            XCTAssertEqual(c.bidirectionalChecks, 1)
            XCTAssertEqual(c.bidirectionalPassed, passes ? 1 : 0, "ref=\(refs): \(c.bidirectionalFailure ?? "passed")")
            if passes {
                XCTAssertNil(c.bidirectionalFailure)
                XCTAssertLessThan(c.decoded, cn.decoded, "B-frames were decoded after the check passed")
                XCTAssertGreaterThan(c.bidirectionalFrom, 0)
            } else {
                XCTAssertTrue(c.bidirectionalFailure?.contains("differs") == true, c.bidirectionalFailure ?? "")
                XCTAssertEqual(c.decoded, cn.decoded)
                XCTAssertEqual(frames.map(\.index), nonref.map(\.index))
            }
            XCTAssertEqual(c.decoded + c.skippedNonReference, 100)
            let points = Array(stride(from: 0, to: 100, by: 7))
            XCTAssertEqual(frames.count, points.count, "ref=\(refs): \(frames.map(\.index))")
            for (f, p) in zip(frames, points) {
                XCTAssertTrue((p..<(p + 4)).contains(f.index), "ref=\(refs): frame \(f.index) for point \(p)")
                XCTAssertEqual(f.pixels, all[f.index].pixels, "ref=\(refs): frame \(f.index) differs from the full decode")
            }
            XCTAssertEqual(Set(frames.map(\.index)).count, frames.count, "a frame was delivered twice at the hand-over")
        }
    }

    /// `preferKeyFrames`: a slot that holds a key frame keeps it, and the packets before it that nothing
    /// kept needs never reach the decoder; a slot without one keeps its first frame, decoded through its
    /// reference chain. Every kept frame is exactly the full decode's frame at its index.
    func testPreferringKeyFramesLeavesOutWhatNoKeptFrameNeeds() throws {
        let path = try Fixtures.h264SparseKeyFrames()
        let (all, _) = try decode(path, .all)
        XCTAssertEqual(all.count, 100)
        for mode in [SamplingMode.rate(1), .every(25)] {
            let (plain, plainCounters) = try decode(path, mode)
            XCTAssertEqual(plain.map(\.index), [0, 25, 50, 75])
            let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: mode, preferKeyFrames: true))
            var frames: [LumaFrame] = []
            while let f = try source.next() { frames.append(f) }
            let c = source.counters
            XCTAssertEqual(frames.map(\.index), [0, 37, 50, 88], "\(mode)")
            XCTAssertEqual(frames.map(\.isKeyFrame), [true, true, false, true], "\(mode)")
            for f in frames {
                XCTAssertEqual(f.pixels, all[f.index].pixels, "\(mode): frame \(f.index) differs from the full decode")
                XCTAssertEqual(f.time, Double(f.index) / 25, accuracy: 0.002)
            }
            XCTAssertEqual(c.decodeErrors, 0)
            XCTAssertEqual(c.packetsRead, 100)
            XCTAssertEqual(c.packetsDecoded + c.skippedBeforeKeyFrame, 100)
            // Left out: frames 1-36 and 51-87 (give or take the B-frames sent ahead of their slot).
            XCTAssertGreaterThan(c.skippedBeforeKeyFrame, 60, "\(mode)")
            XCTAssertEqual(plainCounters.decoded, 100)
            XCTAssertEqual(c.decoded, c.packetsDecoded)
        }
        // Ignored where there are no slots: all frames.
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: .all, preferKeyFrames: true))
        var n = 0
        while try source.next() != nil { n += 1 }
        XCTAssertEqual(n, 100)
        XCTAssertEqual(source.counters.skippedBeforeKeyFrame, 0)
    }

    /// `preferKeyFrames` on an all-intra stream (MJPEG, as from USB cameras): every frame is a key frame,
    /// so only each slot's kept frame is decoded.
    func testPreferringKeyFramesOnAnIntraOnlyStream() throws {
        let path = try Fixtures.aviMJPEG()
        let (all, _) = try decode(path, .all)
        XCTAssertEqual(all.count, 50)
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: .rate(5), preferKeyFrames: true))
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        XCTAssertEqual(frames.map(\.index), Array(stride(from: 0, to: 50, by: 5)))
        XCTAssertEqual(source.counters.decoded, 10)
        XCTAssertEqual(source.counters.skippedBeforeKeyFrame, 40)
        for f in frames { XCTAssertEqual(f.pixels, all[f.index].pixels, "frame \(f.index)") }
    }

    /// `preferKeyFrames` with `skipBidirectional`: nothing is left out while the B-frame check runs (its
    /// two decoders see every packet); after it has passed, slot 4's key frame (110) stands in for the
    /// slot and the packets before it are left out. Every kept frame is the full decode's.
    func testPreferringKeyFramesAfterTheBidirectionalCheck() throws {
        let path = try Fixtures.h264BPyramidSparseKeyFrames()
        let (all, _) = try decode(path, .all)
        XCTAssertEqual(all.count, 150)
        let options = DecodeOptions(sampling: .rate(1), skipBidirectional: true, preferKeyFrames: true)
        let source = try VideoSource(input: InputSpec(path), options: options)
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        let c = source.counters
        XCTAssertEqual(c.bidirectionalPassed, 1, c.bidirectionalSummary)
        XCTAssertEqual(frames.count, 6, "\(frames.map(\.index))")
        XCTAssertTrue(frames.contains { $0.index == 110 && $0.isKeyFrame }, "\(frames.map(\.index))")
        XCTAssertGreaterThan(c.skippedBeforeKeyFrame, 0)
        XCTAssertEqual(c.decodeErrors, 0)
        for f in frames {
            XCTAssertEqual(f.pixels, all[f.index].pixels, "frame \(f.index) differs from the full decode")
        }
    }

    /// The decision behind `preferKeyFrames`, packet by packet (slots of the packets read ahead).
    func testKeyFrameSlotDecisions() {
        typealias E = KeyFrameSlots.Entry
        func entries(_ s: [(Int64?, Bool)]) -> ArraySlice<E> { ArraySlice(s.map { E(slot: $0.0, key: $0.1) }) }
        var slots = KeyFrameSlots()
        // Nothing sent yet: the first packet of slot 0 is its frame unless a key of slot 0 follows.
        XCTAssertEqual(slots.decide(entries([(0, false)]), ended: false), .readMore)
        XCTAssertEqual(slots.decide(entries([(0, false), (0, false), (0, true)]), ended: false), .skip)
        XCTAssertEqual(slots.decide(entries([(0, false), (0, false), (1, false), (2, false)]), ended: false), .decode)
        // The first key frame of a slot without its frame is kept, not a later one of the same slot.
        XCTAssertEqual(slots.decide(entries([(0, true), (0, false), (0, true)]), ended: false), .decode)
        slots.sent(E(slot: 0, key: true))
        XCTAssertEqual(slots.covered, 0)
        // Slot 0 has its frame: its remaining packets and slot 1's before slot 1's key are not needed.
        XCTAssertEqual(slots.decide(entries([(0, false), (0, false), (1, false), (1, true)]), ended: false), .skip)
        // ... and a key packet of slot 0 itself, when slot 1's key follows.
        XCTAssertEqual(slots.decide(entries([(0, true), (1, false), (1, true)]), ended: false), .skip)
        // ... but not when the key is in slot 2 and slot 1 would have no frame.
        XCTAssertEqual(slots.decide(entries([(0, false), (1, false), (2, true)]), ended: false), .decode)
        // No key yet: read on while the packets stay within slot 1; decide once they pass it.
        XCTAssertEqual(slots.decide(entries([(0, false), (1, false)]), ended: false), .readMore)
        XCTAssertEqual(slots.decide(entries([(0, false), (1, false), (2, false)]), ended: false), .decode)
        XCTAssertEqual(slots.decide(entries([(0, false), (1, false)]), ended: true), .decode)
        // The stream's last packets, all of slot 0, which has its frame: not needed.
        XCTAssertEqual(slots.decide(entries([(0, false), (0, false)]), ended: true), .skip)
        // ... but at the byte limit, later packets may still need them.
        XCTAssertEqual(slots.decide(entries([(0, false), (0, false)]), ended: false, full: true), .decode)
        // Packets without a time are always decoded, and stop a run.
        XCTAssertEqual(slots.decide(entries([(nil, false), (1, true)]), ended: false), .decode)
        XCTAssertEqual(slots.decide(entries([(0, false), (nil, false), (1, true)]), ended: false), .decode)
        // Never more than maxLookahead packets ahead.
        let long = entries([(0, false)] + Array(repeating: (1, false), count: KeyFrameSlots.maxLookahead - 1))
        XCTAssertEqual(slots.decide(long, ended: false), .decode)
    }

    /// Key frames only with a maximum gap (`maxKeyFrameGap`) on a stream with key frames at 0, 37 and 88
    /// (25 fps, B-frames): every key frame is kept, and where the next key frame comes later than the gap
    /// after the last kept frame, the first frame at the gap too, decoded through its reference chain; the
    /// packets before a key frame that comes within the gap are never decoded. Every kept frame is the
    /// full decode's.
    func testKeyFramesWithAMaximumGap() throws {
        let path = try Fixtures.h264SparseKeyFrames()
        let (all, _) = try decode(path, .all)
        XCTAssertEqual(all.count, 100)
        func run(_ gap: Double, skipNonReference: Bool = false) throws -> ([LumaFrame], SamplingCounters) {
            let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(
                sampling: .keyFrames, skipNonReference: skipNonReference, maxKeyFrameGap: gap))
            var frames: [LumaFrame] = []
            while let f = try source.next() { frames.append(f) }
            for f in frames {
                XCTAssertTrue(f.pixels == all[f.index].pixels, "gap \(gap): frame \(f.index) differs from the full decode")
                XCTAssertEqual(f.time, Double(f.index) / 25, accuracy: 0.002)
            }
            XCTAssertEqual(source.counters.decodeErrors, 0)
            XCTAssertEqual(source.counters.packetsDecoded + source.counters.skippedUndecoded, 100)
            return (frames, source.counters)
        }
        // A gap longer than the stream: key frames only, nothing else decoded.
        var (frames, c) = try run(10)
        XCTAssertEqual(frames.map(\.index), [0, 37, 88])
        XCTAssertEqual(c.decoded, 3)
        XCTAssertEqual(c.skippedUndecoded, 97)
        // 1.5 s: key 37 comes within 1.5 s of frame 0 (1..36 left out); key 88 does not come within 1.5 s
        // of 37, so the frame at 2.98 s (75, or the next decoded one) is kept, and what follows it up to
        // key 88 is left out.
        (frames, c) = try run(1.5)
        XCTAssertEqual(frames.count, 4, "\(frames.map(\.index))")
        XCTAssertEqual(frames.filter(\.isKeyFrame).map(\.index), [0, 37, 88])
        XCTAssertTrue((75...77).contains(frames[2].index), "\(frames.map(\.index))")
        XCTAssertLessThan(c.decoded, 50)
        XCTAssertGreaterThan(c.skippedUndecoded, 45)
        // 1 s: no two kept frames more than a second (and a frame) apart; every key frame kept.
        for skip in [false, true] {
            (frames, c) = try run(1, skipNonReference: skip)
            XCTAssertEqual(frames.filter(\.isKeyFrame).map(\.index), [0, 37, 88])
            for (a, b) in zip(frames, frames.dropFirst()) { XCTAssertLessThanOrEqual(b.index - a.index, 27, "\(frames.map(\.index))") }
            XCTAssertEqual(frames.count, 6, "\(frames.map(\.index))")
            XCTAssertGreaterThan(c.skippedUndecoded, 5)
        }
        // B-pyramids (B-frames that reference B-frames, sent after their P-frame): every kept frame exact.
        let pyramid = try Fixtures.h264BPyramidSparseKeyFrames()
        let (pyramidAll, _) = try decode(pyramid, .all)
        for gap in [0.7, 1, 1.3] {
            let source = try VideoSource(input: InputSpec(pyramid), options: DecodeOptions(sampling: .keyFrames, maxKeyFrameGap: gap))
            var kept: [LumaFrame] = []
            while let f = try source.next() { kept.append(f) }
            XCTAssertEqual(kept.filter(\.isKeyFrame).map(\.index), [0, 70, 110], "gap \(gap)")
            XCTAssertEqual(source.counters.decodeErrors, 0)
            XCTAssertGreaterThan(source.counters.skippedUndecoded, 0, "gap \(gap)")
            for f in kept { XCTAssertTrue(f.pixels == pyramidAll[f.index].pixels, "gap \(gap): frame \(f.index) differs from the full decode") }
            for (a, b) in zip(kept, kept.dropFirst()) {
                XCTAssertLessThanOrEqual(Double(b.index - a.index) / 25, gap + 0.2, "gap \(gap): \(kept.map(\.index))")
            }
        }
    }

    /// The decision behind `maxKeyFrameGap`, packet by packet (times and key flags of the packets read
    /// ahead).
    func testKeyFrameGapDecisions() {
        typealias E = KeyFrameSlots.Entry
        func entries(_ s: [(Double?, Bool)]) -> ArraySlice<E> { ArraySlice(s.map { E(slot: nil, key: $0.1, time: $0.0) }) }
        var gaps = KeyFrameGaps(gap: 1)
        // Nothing sent yet: decode (a stream that starts between key frames decodes as usual).
        XCTAssertEqual(gaps.decide(entries([(0, false), (0.5, true)]), ended: false), .decode)
        // Key packets always go to the decoder.
        XCTAssertEqual(gaps.decide(entries([(0, true)]), ended: false), .decode)
        gaps.sent(E(slot: nil, key: true, time: 0))
        XCTAssertEqual(gaps.anchor, 0)
        // A key by the due time (1 s): the packets before it are not needed.
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (0.08, false), (0.96, true)]), ended: false), .skip)
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (1.0, true)]), ended: false), .skip)
        // The due time first, or a key after it: the frame at the due time needs this packet.
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (1.0, false), (1.2, true)]), ended: false), .decode)
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (0.5, false), (1.04, true)]), ended: false), .decode)
        // Neither yet: read on.
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (0.5, false)]), ended: false), .readMore)
        // ... but not past the limits.
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (0.5, false)]), ended: false, full: true), .decode)
        let long = entries([(0.04, false)] + Array(repeating: (0.5, false), count: KeyFrameSlots.maxLookahead - 1))
        XCTAssertEqual(gaps.decide(long, ended: false), .decode)
        // The stream's last packets before the due time: no frame of them is kept.
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (0.5, false)]), ended: true), .skip)
        // Packets without a time are decoded.
        XCTAssertEqual(gaps.decide(entries([(nil, false), (0.5, true)]), ended: false), .decode)
        XCTAssertEqual(gaps.decide(entries([(0.04, false), (nil, false), (0.5, true)]), ended: false), .decode)
        // A packet at or after the due time is the fill frame, and the next one is due a gap after it ...
        gaps.sent(E(slot: nil, key: false, time: 0.5))
        XCTAssertEqual(gaps.anchor, 0)
        XCTAssertNil(gaps.fill)
        gaps.sent(E(slot: nil, key: false, time: 1.08))
        XCTAssertEqual(gaps.fill, 1.08)
        // ... unless an earlier one at or after the due time follows in decode order (a B-frame after its
        // P-frame): that one is decoded, and is the fill frame.
        XCTAssertEqual(gaps.decide(entries([(1.0, false), (1.5, true)]), ended: false), .decode)
        gaps.sent(E(slot: nil, key: false, time: 1.0))
        XCTAssertEqual(gaps.fill, 1.0)
        XCTAssertEqual(gaps.decide(entries([(1.04, false), (1.96, true)]), ended: false), .skip)
        XCTAssertEqual(gaps.decide(entries([(1.04, false), (2.04, true)]), ended: false), .decode)
        // The next fill frame moves the anchor on; a key packet starts again from itself.
        gaps.sent(E(slot: nil, key: false, time: 2.0))
        XCTAssertEqual(gaps.anchor, 1.0)
        XCTAssertEqual(gaps.fill, 2.0)
        gaps.sent(E(slot: nil, key: true, time: 2.2))
        XCTAssertEqual(gaps.anchor, 2.2)
        XCTAssertNil(gaps.fill)
    }

    /// `decoder`: naming FFmpeg's own software decoder gives the default decoding, frame for frame.
    func testNamedDecoderDecodesAsTheDefault() throws {
        let path = try Fixtures.mpegTSWithBFrames()
        let (all, _) = try decode(path, .every(3))
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: .every(3), decoder: "h264"))
        XCTAssertEqual(source.decoderName, "h264")
        XCTAssertNil(source.hardwareDecoderNote)
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        XCTAssertEqual(frames.map(\.index), all.map(\.index))
        XCTAssertEqual(frames.map(\.pixels), all.map(\.pixels))
        XCTAssertThrowsError(try VideoSource(input: InputSpec(path), options: DecodeOptions(decoder: "vp9"))) { e in
            XCTAssertEqual((e as? VideoIOError)?.category, .badRequest)
        }
    }

    /// `skipLoopFilter`: the same frames at the same times, pictures close to a full decode but not equal
    /// (the deblocking filter did run there: the fixture is H.264 with B-frames).
    func testSkippingTheLoopFilter() throws {
        let path = try Fixtures.mpegTSWithBFrames()
        let (all, _) = try decode(path, .every(5))
        let source = try VideoSource(input: InputSpec(path), options: DecodeOptions(sampling: .every(5), skipLoopFilter: true))
        var frames: [LumaFrame] = []
        while let f = try source.next() { frames.append(f) }
        XCTAssertEqual(frames.map(\.index), all.map(\.index))
        var differing = 0
        for (f, g) in zip(frames, all) {
            XCTAssertEqual(f.time, g.time)
            let sse = zip(f.pixels, g.pixels).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }
            let psnr = sse == 0 ? Double.infinity : 10 * log10(255 * 255 * Double(f.pixels.count) / sse)
            XCTAssertGreaterThan(psnr, 30, "frame \(f.index)")
            if sse > 0 { differing += 1 }
        }
        XCTAssertGreaterThan(differing, 0, "the loop filter was not skipped")
    }

    func testTargetRate() throws {
        let (frames, counters) = try decode(try Fixtures.mp4(), .rate(2))
        // 2 s of video at 2 fps: slots [0,0.5), [0.5,1), [1,1.5), [1.5,2).
        XCTAssertEqual(frames.map(\.index), [0, 13, 25, 38])
        XCTAssertEqual(counters.delivered, 4)
        let (five, _) = try decode(try Fixtures.mpegTS(), .rate(5))
        XCTAssertEqual(five.map(\.index), [0, 5, 10, 15, 20, 25, 30, 35, 40, 45])
    }

    /// Found with the fuzz-video target on a hand-made input (Fuzz/corpus/video/frag-huge-times.mp4): a
    /// fragmented MP4 at one tick a second whose later fragments start 2^62 ticks in (a 64-bit `tfdt`)
    /// gives frame times of ~4.6e18 s, and the rate sampler's Int64 conversion trapped on them.
    func testAbsurdFragmentTimesDoNotTrap() throws {
        let url = Fixtures.folder.appendingPathComponent("frag-huge-times.mp4")
        try Fixtures.run("ffmpeg", ["-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=2", "-c:v", "libx264",
                                    "-g", "3", "-pix_fmt", "yuv420p", "-movflags", "frag_keyframe+empty_moov",
                                    "-video_track_timescale", "5", url.path])
        var bytes = [UInt8](try Data(contentsOf: url))
        func boxes(_ tag: String) -> [Int] {
            let t = Array(tag.utf8)
            return (0..<(bytes.count - 4)).filter { Array(bytes[$0..<($0 + 4)]) == t }
        }
        func put(_ value: UInt64, at offset: Int, bytes n: Int) {
            for i in 0..<n { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(n - 1 - i))) }
        }
        let mdhd = try XCTUnwrap(boxes("mdhd").first)
        XCTAssertEqual(bytes[mdhd + 4], 0, "mdhd version 0")
        put(1, at: mdhd + 16, bytes: 4)  // timescale: one tick a second
        let tfdt = boxes("tfdt")
        XCTAssertGreaterThan(tfdt.count, 1)
        for (k, offset) in tfdt.enumerated().dropFirst() {
            XCTAssertEqual(bytes[offset + 4], 1, "64-bit tfdt")
            put((1 << 62) + UInt64(k), at: offset + 8, bytes: 8)
        }
        try Data(bytes).write(to: url)
        for mode in [SamplingMode.rate(7.5), .rate(2), .keyFrames, .all] {
            let (frames, _) = try decode(url.path, mode)
            XCTAssertFalse(frames.isEmpty, "\(mode)")
            XCTAssertTrue(frames.allSatisfy { $0.time.isFinite }, "\(mode)")
        }
    }

    /// Found by the fuzz-video target (Fuzz/corpus/video/mp4-huge-allocation.mp4): this 1.2 KB fragmented
    /// MP4 made libavformat 5.1 allocate 2.8 GB in three blocks while opening it (enough to kill a board).
    /// With FFmpeg's allocations capped (`VideoIO.maxAllocation`) it is refused, or read without the blow-up.
    func testHugeAllocationFromAHeaderIsCapped() throws {
        let base64 = [
            "AAAAJGZ0eXBpc29tAAACAGlzb21pc282aXNvMmF2YzFtcDQxAAAC5m1vb3YAAABsbXZoZHJ3X3RpbWVvdQAAAAAAA+gAAAAA",
            "AAEAAAEAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAADsAAAIAAAHodHJhawAAAFx0a2hkAAAAAwAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAA",
            "AAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAQAAAAABAAAAAMAAAAAABhG1kaWEAAAAgbWRoZAAAAAAAAAAAAAAAAAAAAAUAAAAA",
            "VcQAAAAAAC1oZGxyAAAAAAAAAAB2aWRlAAAAAAAAAAAAAAAAVmlkZW9IYW5kbGVyAAAAAS9taW5mAAAAFHZtaGQAAAABAAAA",
            "AAAAAAAAAAAkZGluZgAAABxkcmVmAAAAAAAAAAEAAAAMdXJsIAAAAAEAAADvc3RibAAAAKNzdHNkAAAAAAAAAAEAAACTYXZj",
            "MQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAABAADAASAAAAEgAAAAAAAAAARVMYXZjNTkuMzcuMTAwIGxpYngyNjQAAAAAAAAA",
            "AAAAABj//wAAAC1hdmNDAULACv/hABZnQsAK2hHsBEAAAAMAQAAAAwKCxDOoAQAEaM4PyAAAABBwYXNwAAAAAQAAAAEAAAAQ",
            "c3R0cwAAAAAAAAAAAAAAEHN0c2MAAAAAAAAAAAAAABRzdHN6AAAAAAAAAAAAAAAAAAAAEHN0Y28AAAAAAAAAAAAAAChtdmV4",
            "AAAAIHRyZXgAAAAAAAAAAQAAAAEAAAAAAAAAAAAAAAAAAABidWR0YQAAAFptZXRhAAAAAAAAACFoZGxyAAAAAAAAAABtZGly",
            "YXBwbAAAAAAAAAAAAAAAAC1pbHN0AAAAJal0b28AAAAdZGF0YQAAAAEAAAAATGF2ZjU5LjI3LjEwMAAAAHxtb29mAAAAEG1m",
            "aGQAAAAAAAAAAQAAAGR0cmFmAAAAJHRmaGQAAAA5AAAAAQAAAAAAAAMKAAAAAQAACEEBAQAAAAAAFHRmZHQBAAAAAAAAAAAA",
            "AAAAAAAkdHJ1biEAAAIFAAAAA6sAAIQCAAAAAAAIQQAAAF8AAAD+AAAJpm1kYXQAAAJRBgX//03cRem95tlIt5Ys2CDZI+7v",
            "eDI2NCAtIGNvcmUgMTY0IHIzMDk1IGJhZWU0IDAwLSBILjI2NC9NUEVHLTQgQVZDIGNvZGVjIC0gQ29weWxlZnQgMjAwMy0y",
            "MDIyIC0gaHR0cDoTuIm/JbxXEhEUmJJQWpDRR3T3YIsrY8A9yORebQOYA64DUJSQvARig8QWZG4yIXhh8g/In7gLpEQ1wHp/",
            "MXcS3MtqAMj34H2ldk8GEt5XcGHEhrZDWmLPvHyYcnivHpez2zqVX5UYr9tYa2G5aSyjMV9d9aK6omGNOmYr06k9MlYb3mSh",
            "Ov20hIjXr0z9Ro1238Rf////4FoRIkKFChQIJGQf//9h/330ke++ed999LgAGTEREWYR",
        ].joined()
        let url = Fixtures.folder.appendingPathComponent("mp4-huge-allocation.mp4")
        try XCTUnwrap(Data(base64Encoded: base64)).write(to: url)
        func peakMB() -> Int {
            var usage = rusage()
            #if canImport(Glibc)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            return usage.ru_maxrss / 1024  // KB on Linux
            #else
            getrusage(RUSAGE_SELF, &usage)
            return usage.ru_maxrss >> 20  // bytes on macOS
            #endif
        }
        let before = peakMB()
        do {
            let source = try VideoSource(input: InputSpec(url.path))
            while try source.next() != nil {}
        } catch let error as VideoIOError {
            XCTAssertEqual(error.category, .inputInvalid, "\(error)")
        }
        XCTAssertLessThan(peakMB() - before, 1024, "opening a 1.2 KB file must not take a gigabyte")
    }

    func testKeyFramesOnlyDecodesExactlyTheKeyFrames() throws {
        for path in [try Fixtures.mp4(), try Fixtures.mpegTS(), try Fixtures.mkvVP9()] {
            let expected = try Fixtures.keyFrameTimes(path)
            XCTAssertEqual(expected.count, 5, path)
            let (frames, counters) = try decode(path, .keyFrames)
            XCTAssertEqual(frames.count, expected.count, path)
            for (f, t) in zip(frames, expected) {
                XCTAssertEqual(f.time, t, accuracy: 0.002, path)
                XCTAssertTrue(f.isKeyFrame, path)
            }
            XCTAssertEqual(frames.map(\.index), [0, 10, 20, 30, 40], path)
            // The other 45 frames never reached the decoder.
            XCTAssertEqual(counters.decoded, 5, path)
            XCTAssertEqual(counters.skippedUndecoded, 45, path)
        }
    }

    func testInvalidSamplingIsRefused() {
        XCTAssertThrowsError(try VideoSource(input: InputSpec(try Fixtures.mp4()), options: DecodeOptions(sampling: .every(0))))
        XCTAssertThrowsError(try VideoSource(input: InputSpec(try Fixtures.mp4()), options: DecodeOptions(sampling: .rate(-1))))
        XCTAssertThrowsError(try ChangeGate(threshold: 300))
    }

    func frame(_ value: UInt8, index: Int, patch: UInt8? = nil) -> LumaFrame {
        var px = [UInt8](repeating: value, count: 64 * 36)
        if let patch { for y in 0..<18 { for x in 0..<32 { px[y * 64 + x] = patch } } }
        return LumaFrame(width: 64, height: 36, pixels: px, time: Double(index), index: index, isKeyFrame: false)
    }

    func testChangeGate() throws {
        var gate = try ChangeGate(threshold: 4)
        XCTAssertTrue(gate.admits(frame(100, index: 0)))           // first frame always passes
        XCTAssertFalse(gate.admits(frame(102, index: 1)))          // 2 levels: unchanged
        XCTAssertFalse(gate.admits(frame(103, index: 2)))          // still within 4 of the reference (100)
        XCTAssertTrue(gate.admits(frame(100, index: 3, patch: 200))) // a quarter of the frame changed by 100: mean 25
        XCTAssertFalse(gate.admits(frame(100, index: 4, patch: 201)))
        var open = try ChangeGate(threshold: 0)
        XCTAssertTrue(open.admits(frame(1, index: 0)))
        XCTAssertTrue(open.admits(frame(1, index: 1)))
    }

    func testChangeGateOnVideo() throws {
        // One second of a still colour, then one second of a moving pattern.
        let path = Fixtures.folder.appendingPathComponent("still-then-moving.mp4").path
        if !FileManager.default.fileExists(atPath: path) {
            try Fixtures.run("ffmpeg", ["-y", "-f", "lavfi", "-i", "color=c=gray:size=320x240:rate=25:duration=1",
                                        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
                                        "-filter_complex", "[0][1]concat=n=2:v=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", path])
        }
        let (frames, counters) = try decode(path, .all, gate: 1.0)
        XCTAssertEqual(counters.decoded, 50)
        XCTAssertGreaterThanOrEqual(counters.droppedByGate, 24, "the still second is dropped after its first frame")
        XCTAssertEqual(frames.first?.index, 0)
        XCTAssertTrue(frames.contains { $0.index == 25 }, "the first moving frame passes")
    }
}
