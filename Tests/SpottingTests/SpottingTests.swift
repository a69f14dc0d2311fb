import Foundation
import XCTest
import BitNet
@testable import Spotting
import VideoIO

/// Box extraction reproduces the trainer's `boxes_from_maps` on golden maps.
final class ScoreMapDecoderTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable {
            var width: Int, height: Int, stride: Int
            var shrinkX: Double, threshold: Double
            var split: Double?
            var join: Double?
            var splitGap: Double?
            var score: [Float], log2Height: [Float]
            var boxes: [[Double]]
        }
        var cases: [Case]
    }

    func testMatchesTheTrainersBoxes() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/boxes", withExtension: "json"))
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        var total = 0
        for c in golden.cases {
            let decoder = ScoreMapDecoder(stride: c.stride, shrinkX: c.shrinkX, threshold: c.threshold, split: c.split,
                                          join: c.join, splitGap: c.splitGap)
            let got = decoder.boxes(score: c.score, log2Height: c.log2Height, width: c.width, height: c.height)
            // Same components, possibly in another order: compare as sorted lists.
            let key: (WordBox) -> [Double] = { [$0.x0, $0.y0, $0.x1, $0.y1] }
            let mine = got.map { key($0) + [$0.score] }.sorted { $0.lexicographicallyPrecedes($1) }
            let theirs = c.boxes.sorted { $0.lexicographicallyPrecedes($1) }
            XCTAssertEqual(mine.count, theirs.count)
            for (a, b) in zip(mine, theirs) {
                for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-3) }
            }
            total += got.count
        }
        XCTAssertGreaterThan(total, 5)
    }

    func testSplitsTwoWordsJoinedByAWeakerColumn() {
        // One row: word A (4 cells at 0.9), a joining cell at 0.6, word B (3 cells at 0.95).
        let row: [Float] = [0.1, 0.9, 0.9, 0.9, 0.9, 0.6, 0.95, 0.95, 0.95, 0.1]
        let h = [Float](repeating: 3, count: row.count)   // 8-pixel words
        XCTAssertEqual(ScoreMapDecoder(shrinkX: 0.5).boxes(score: row, log2Height: h, width: row.count, height: 1).count, 1)
        let split = ScoreMapDecoder(shrinkX: 0.5, split: 0.8).boxes(score: row, log2Height: h, width: row.count, height: 1)
            .sorted { $0.x0 < $1.x0 }
        XCTAssertEqual(split.count, 2)
        // Cells 1-4 and 6-8 at stride 4, each grown by 0.5 x 8 px; the valley cell belongs to neither.
        XCTAssertEqual(split[0].x0, 0, accuracy: 1e-9); XCTAssertEqual(split[0].x1, 24, accuracy: 1e-9)
        XCTAssertEqual(split[1].x0, 20, accuracy: 1e-9); XCTAssertEqual(split[1].x1, 40, accuracy: 1e-9)
        XCTAssertEqual(split[1].score, 0.95, accuracy: 1e-6)
        // A dip that is not deep enough (0.6 >= 0.6 x 0.9) keeps one word.
        XCTAssertEqual(ScoreMapDecoder(shrinkX: 0.5, split: 0.6).boxes(score: row, log2Height: h, width: row.count, height: 1).count, 1)
    }

    func testSplitBoxesLieInsideTheirComponentsAndNeverLoseOne() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let w = Int.random(in: 1...30, using: &rng), h = Int.random(in: 1...8, using: &rng)
            let score = (0..<(w * h)).map { _ in Float.random(in: 0...1, using: &rng) }
            let log2h = [Float](repeating: 3, count: w * h)
            let plain = ScoreMapDecoder(shrinkX: 0.5).boxes(score: score, log2Height: log2h, width: w, height: h)
            for ratio in [0.5, 0.8, 0.95] {
                let split = ScoreMapDecoder(shrinkX: 0.5, split: ratio).boxes(score: score, log2Height: log2h, width: w, height: h)
                XCTAssertGreaterThanOrEqual(split.count, plain.count)
                for b in split {
                    // Every part spans columns of one component (one log2 height everywhere: same growth).
                    XCTAssertTrue(plain.contains { $0.x0 <= b.x0 + 1e-9 && b.x1 <= $0.x1 + 1e-9 },
                                  "\(b) outside every component of a \(w)x\(h) map")
                    XCTAssertTrue(b.score >= 0.5 && b.score <= 1)
                }
            }
        }
    }

    func testJoinsThePiecesOfOneLineOnly() {
        // Two rows of 12 cells; 16-pixel words (log2 4). Row 0: pieces at cells 0-3 and 5-8 (one empty
        // column, 4 px apart: 0.25 heights), then 11 alone (two empty columns, 8 px = 0.5 heights).
        let w = 12
        var score = [Float](repeating: 0, count: 2 * w)
        for x in [0, 1, 2, 3, 5, 6, 7, 8, 11] { score[x] = 0.9 }
        var log2h = [Float](repeating: 4, count: 2 * w)
        XCTAssertEqual(ScoreMapDecoder(shrinkX: 0.5).boxes(score: score, log2Height: log2h, width: w, height: 2).count, 3)
        var joined = ScoreMapDecoder(shrinkX: 0.5, join: 0.3).boxes(score: score, log2Height: log2h, width: w, height: 2)
            .sorted { $0.x0 < $1.x0 }
        XCTAssertEqual(joined.count, 2)
        XCTAssertEqual(joined[0].x0, -8, accuracy: 1e-9); XCTAssertEqual(joined[0].x1, 44, accuracy: 1e-9)
        XCTAssertEqual(ScoreMapDecoder(shrinkX: 0.5, join: 0.5).boxes(score: score, log2Height: log2h, width: w, height: 2).count, 1)
        // A piece a row lower (4 px = 0.25 heights) is on the same line; one twice as tall is not.
        for x in [5, 6, 7, 8] { score[x] = 0; score[w + x] = 0.9 }
        XCTAssertEqual(ScoreMapDecoder(shrinkX: 0.5, join: 0.3).boxes(score: score, log2Height: log2h, width: w, height: 2).count, 2)
        for x in [5, 6, 7, 8] { log2h[w + x] = 5 }
        joined = ScoreMapDecoder(shrinkX: 0.5, join: 0.3).boxes(score: score, log2Height: log2h, width: w, height: 2)
        XCTAssertEqual(joined.count, 3)
        // Joined pieces are split again at a valley: two 8-pixel words (log2 3) one empty column apart.
        let row: [Float] = [0.9, 0.9, 0.9, 0, 0.9, 0.9, 0.9]
        let h3 = [Float](repeating: 3, count: row.count)
        XCTAssertEqual(ScoreMapDecoder(shrinkX: 0.5, join: 0.5).boxes(score: row, log2Height: h3, width: row.count, height: 1).count, 1)
        XCTAssertEqual(ScoreMapDecoder(shrinkX: 0.5, split: 0.8, join: 0.5).boxes(score: row, log2Height: h3, width: row.count, height: 1).count, 2)
    }

    func testSplitGapKeepsNarrowDipsInOneWord() {
        // A 32-pixel word (log2 5) with a dip one cell wide, then a dip three cells wide.
        let row: [Float] = [0.9, 0.9, 0.55, 0.9, 0.9, 0.9, 0.55, 0.55, 0.55, 0.9, 0.9]
        let h = [Float](repeating: 5, count: row.count)
        func count(_ gap: Double?) -> Int {
            ScoreMapDecoder(shrinkX: 0.5, split: 0.8, splitGap: gap).boxes(score: row, log2Height: h, width: row.count, height: 1).count
        }
        XCTAssertEqual(count(nil), 3)
        XCTAssertEqual(count(0.3), 2)    // at least 2 columns (0.3 x 32 / 4 = 2.4)
        XCTAssertEqual(count(0.4), 2)    // at least 3 (3.2)
        XCTAssertEqual(count(0.5), 1)    // at least 4
        let p: [Double] = [0.9, 0.5, 0.9, 0.5, 0.5, 0.9]
        XCTAssertEqual(ScoreMapDecoder.splitColumns(p, ratio: 0.8, minWidth: 2), [0...2, 4...5])
        XCTAssertEqual(ScoreMapDecoder.splitColumns(p, ratio: 0.8, minWidth: 3), [0...5])
        // The ends of the range never count towards a valley's width.
        XCTAssertEqual(ScoreMapDecoder.splitColumns([0.5, 0.5, 0.9, 0.9], ratio: 0.8, minWidth: 2), [0...3])
    }

    func testSplitColumnsPicksTheDeepestValleyFirstAndRecurses() {
        let p: [Double] = [0.9, 0.5, 0.9, 0.7, 0.9, 0.9]
        XCTAssertEqual(ScoreMapDecoder.splitColumns(p, ratio: 0.8), [0...0, 2...2, 4...5])
        XCTAssertEqual(ScoreMapDecoder.splitColumns(p, ratio: 0.6), [0...0, 2...5])
        XCTAssertEqual(ScoreMapDecoder.splitColumns(p, ratio: 0), [0...5])
        XCTAssertEqual(ScoreMapDecoder.splitColumns([0.9, 0.1], ratio: 0.9), [0...1])   // no column either side
        XCTAssertEqual(ScoreMapDecoder.splitColumns([], ratio: 0.9), [])
    }

    func testFourConnectivity() {
        // Two cells touching only at a corner are two words.
        var score = [Float](repeating: 0, count: 16)
        score[0] = 0.9; score[5] = 0.9
        let boxes = ScoreMapDecoder().boxes(score: score, log2Height: [Float](repeating: 3, count: 16), width: 4, height: 4)
        XCTAssertEqual(boxes.count, 2)
        XCTAssertEqual(boxes[0].height, 8, accuracy: 1e-9)
    }
}

final class CTCDecoderTests: XCTestCase {
    /// Logits that put `confidence`-ish weight on the given class at each step.
    func logits(_ classes: [Int], count: Int = 37) -> [Float] {
        classes.flatMap { c in (0..<count).map { $0 == c ? Float(5) : Float(0) } }
    }

    func testCollapsesRepeatsAndDropsBlanks() {
        let d = CTCDecoder.lpcv
        // E X X _ I T T  ->  EXIT ; classes: digits 1..10, A = 11
        let e = 11 + 4, x = 11 + 23, i = 11 + 8, t = 11 + 19
        let r = d.decode(logits: logits([e, x, x, 0, i, t, t]), steps: 7, classes: 37)
        XCTAssertEqual(r.text, "EXIT")
        // A blank between two equal letters keeps both: L _ L -> LL.
        let l = 11 + 11
        XCTAssertEqual(d.decode(logits: logits([l, 0, l]), steps: 3, classes: 37).text, "LL")
        XCTAssertEqual(d.decode(logits: logits([1, 2, 0, 3]), steps: 4, classes: 37).text, "012")
    }

    func testConfidenceIsTheLeastSureStep() {
        var l = logits([11, 12])
        // Make step 1 unsure: two classes tie.
        l[37 + 13] = 5
        let r = CTCDecoder.lpcv.decode(logits: l, steps: 2, classes: 37)
        let sure = 1 / (1 + 36 * exp(-5.0))
        let tie = 1 / (2 + 35 * exp(-5.0))
        XCTAssertEqual(r.confidence, min(sure, tie), accuracy: 1e-6)
        XCTAssertEqual(CTCDecoder.lpcv.decode(logits: [], steps: 0, classes: 37), .init(text: "", confidence: 1))
    }
}

final class SignGroupingTests: XCTestCase {
    func box(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) -> WordBox { WordBox(x0: x0, y0: y0, x1: x1, y1: y1, score: 1) }

    func testLinesAndSigns() {
        // Sign A: "AUTHORIZED" over "PERSONNEL ONLY"; sign B far right: "EXIT".
        let boxes = [box(100, 100, 300, 130), box(80, 140, 250, 170), box(260, 140, 330, 170), box(900, 100, 980, 130)]
        let signs = SignGrouping().group(boxes)
        XCTAssertEqual(signs.count, 2)
        XCTAssertEqual(signs[0].map(\.words), [[0], [1, 2]])
        XCTAssertEqual(signs[1].map(\.words), [[3]])
    }

    func testDistantLinesAreSeparateSigns() {
        let boxes = [box(100, 100, 200, 120), box(100, 400, 200, 420)]
        XCTAssertEqual(SignGrouping().group(boxes).count, 2)
    }
}

final class TrackerTests: XCTestCase {
    func reading(_ t: Double, _ x: Double, _ text: String, _ c: Double = 0.9) -> WordTracker.Reading {
        .init(time: t, box: WordBox(x0: x, y0: 100, x1: x + 100, y1: 130, score: 1), text: text, confidence: c, sign: 0)
    }

    func testVotesAndTimes() {
        var tracker = WordTracker()
        tracker.update([reading(0, 500, "EXIT"), reading(0, 100, "ROOM")])
        tracker.update([reading(0.5, 480, "EX1T", 0.4), reading(0.5, 90, "ROOM")])   // moved a little, misread once
        tracker.update([reading(1.0, 460, "EXIT")])
        XCTAssertEqual(tracker.tracks.count, 2)
        let exit = tracker.tracks[0]
        XCTAssertEqual(exit.text, "EXIT")
        XCTAssertEqual(exit.sightings, 3)
        XCTAssertEqual(exit.firstTime, 0)
        XCTAssertEqual(exit.lastTime, 1.0)
        XCTAssertEqual(tracker.tracks[1].text, "ROOM")
    }

    func testPanningCameraMatchesByText() {
        var tracker = WordTracker()
        tracker.update([reading(0, 800, "B056")])
        tracker.update([reading(0.5, 400, "B056")])      // no overlap, same text, within the gap
        tracker.update([reading(5.0, 100, "B056")])      // seen again after a long gap: a new track
        XCTAssertEqual(tracker.tracks.map(\.sightings), [2, 1])
    }

    func testTracksThatDropOutAreCompactedAndStayClosed() {
        var tracker = WordTracker()
        tracker.update([reading(0, 500, "EXIT")])
        tracker.update([reading(0.5, 500, "EX1T", 0.4)])
        XCTAssertEqual(tracker.tracks[0].votes.count, 2)
        // Hours of other words later: the old track keeps only its winning vote and is never joined again.
        for k in 1...2000 { tracker.update([reading(Double(k) * 3, 100, "W\(k)")]) }
        tracker.update([reading(6001, 500, "EXIT")])
        XCTAssertEqual(tracker.tracks[0].votes, ["EXIT": 0.9])
        XCTAssertEqual(tracker.tracks[0].text, "EXIT")
        XCTAssertEqual(tracker.tracks[0].sightings, 2)
        XCTAssertEqual(tracker.tracks.count, 2002)
        XCTAssertEqual(tracker.tracks.last?.text, "EXIT")
    }

    func testLevenshtein() {
        XCTAssertEqual(levenshtein("KITTEN", "SITTING"), 3)
        XCTAssertEqual(levenshtein("", "ABC"), 3)
        XCTAssertEqual(stringSimilarity("EXIT", "EX1T"), 0.75)
    }
}

final class LPCVAnswersTests: XCTestCase {
    func testAnswersFormat() {
        let q = LPCVAnswers.parseQuestions("room;Exit;\nLAB;")
        XCTAssertEqual(q, ["ROOM", "EXIT", "LAB"])
        let text = LPCVAnswers.answers(questions: q, signs: [["ROOM", "B056"], ["EXIT"], ["Authorized", "personnel", "only"]])
        XCTAssertEqual(text, "ROOM: B056;\nEXIT: -;\nLAB: -;\n")
    }
}

final class SpotOutputsTests: XCTestCase {
    func track(_ id: Int, _ text: String, _ t0: Double, _ t1: Double) -> WordTracker.Track {
        let box = WordBox(x0: 0, y0: 0, x1: 10, y1: 10, score: 1)
        var t = WordTracker()
        t.update([.init(time: t0, box: box, text: text, confidence: 1, sign: 0)])
        var track = t.tracks[0]
        track.id = id
        track.lastTime = t1
        return track
    }

    func testSignMemoryAndAnswers() {
        var memory = SignMemory()
        memory.record(tracks: [0, 1, 2], signs: [0, 0, 1])      // ROOM B056 | EXIT
        memory.record(tracks: [0, 1], signs: [0, 0])            // same sign again: nothing new
        memory.record(tracks: [3, 4, 0], signs: [0, 0, 0])      // later the whole plate: ROOM B056 WING C
        let tracks = [track(0, "ROOM", 0, 1), track(1, "B056", 0, 1), track(2, "EXIT", 0, 1), track(3, "WING", 2, 3), track(4, "C", 2, 3)]
        let signs = memory.signs(tracks)
        XCTAssertEqual(Set(signs.map { Set($0) }), [["ROOM", "B056"], ["EXIT"], ["ROOM", "WING", "C"]])
        let answers = LPCVAnswers.answers(questions: ["WING", "EXIT", "LAB"], signs: signs)
        XCTAssertTrue(answers.hasPrefix("WING: "))
        XCTAssertTrue(answers.contains("EXIT: -;\nLAB: -;\n"), answers)
    }

    func testSubRip() {
        XCTAssertEqual(SubRip.timestamp(3723.0456), "01:02:03,046")
        // Frame times from a hostile file (see SamplingTests.testAbsurdFragmentTimesDoNotTrap) must not trap.
        XCTAssertFalse(SubRip.timestamp(4.6e18).isEmpty)
        XCTAssertEqual(SubRip.timestamp(.nan), "00:00:00,000")
        let srt = SubRip.render([track(0, "EXIT", 2.5, 2.5), track(1, "ROOM", 0.5, 4)])
        XCTAssertEqual(srt, "1\n00:00:00,500 --> 00:00:04,000\nROOM\n\n2\n00:00:02,500 --> 00:00:03,500\nEXIT\n\n")
    }
}

final class FrameQueueTests: XCTestCase {
    func frame(_ i: Int) -> LumaFrame { LumaFrame(width: 1, height: 1, pixels: [0], time: Double(i), index: i, isKeyFrame: false) }

    func testLiveQueueKeepsTheNewest() throws {
        let q = FrameQueue(capacity: 2, dropOldest: true)
        for i in 0..<5 { XCTAssertTrue(q.put(frame(i))) }
        q.finish()
        XCTAssertEqual(try q.take()?.index, 3)
        XCTAssertEqual(try q.take()?.index, 4)
        XCTAssertNil(try q.take())
        XCTAssertEqual(q.dropped, 3)
    }

    func testFileQueueMakesTheProducerWait() throws {
        let q = FrameQueue(capacity: 2, dropOldest: false)
        let producer = Thread {
            for i in 0..<50 { q.put(LumaFrame(width: 1, height: 1, pixels: [0], time: Double(i), index: i, isKeyFrame: false)) }
            q.finish()
        }
        producer.start()
        var got: [Int] = []
        while let f = try q.take() { got.append(f.index) }
        XCTAssertEqual(got, Array(0..<50), "nothing dropped, order kept")
        XCTAssertEqual(q.dropped, 0)
    }

    func testProducerErrorArrivesAfterItsFrames() {
        let q = FrameQueue(capacity: 4, dropOldest: false)
        q.put(frame(0))
        q.finish(VideoIOError(.readFailed, "cam", "gone"))
        XCTAssertEqual(try q.take()?.index, 0)
        XCTAssertThrowsError(try q.take())
    }

    func testCloseReleasesAWaitingProducer() {
        let q = FrameQueue(capacity: 1, dropOldest: false)
        q.put(frame(0))
        let released = expectation(description: "put returns")
        Thread {
            XCTAssertFalse(q.put(LumaFrame(width: 1, height: 1, pixels: [0], time: 1, index: 1, isKeyFrame: false)))
            released.fulfill()
        }.start()
        Thread.sleep(forTimeInterval: 0.05)
        q.close()
        wait(for: [released], timeout: 5)
    }

    func testPumpDecodesOnItsOwnThread() throws {
        let source = try VideoSource(input: InputSpec("lavfi:testsrc2=size=64x48:rate=25"))
        let pump = FramePump(source: source, capacity: 3, dropOldest: false)
        pump.start()
        var indices: [Int] = []
        while indices.count < 10, let f = try pump.next() { indices.append(f.index) }
        pump.stop()
        XCTAssertEqual(indices, Array(0..<10))
        XCTAssertGreaterThanOrEqual(pump.counters.delivered, 10)
    }

    /// The detector's kernel shrink comes from its metadata (`output.shrink_x`); absent, odd or
    /// out-of-range values are not taken (the caller falls back to 0.3).
    func testDetectorShrinkFromMetadata() {
        XCTAssertEqual(TextSpotter.shrinkX(#"{"output": {"shrink_x": 0.5}}"#), 0.5)
        XCTAssertEqual(TextSpotter.shrinkX(#"{"output": {"shrink_x": 0}}"#), 0)
        XCTAssertNil(TextSpotter.shrinkX(#"{"output": {"maps": "..."}}"#))
        XCTAssertNil(TextSpotter.shrinkX(#"{"output": {"shrink_x": "0.5"}}"#))
        XCTAssertNil(TextSpotter.shrinkX(#"{"output": {"shrink_x": -1}}"#))
        XCTAssertNil(TextSpotter.shrinkX(#"{"output": {"shrink_x": 1e300}}"#))
        XCTAssertNil(TextSpotter.shrinkX("not json"))
    }

    /// A maps head of 8 channels is each cell's 2 x 2 sub-cells (channel 4k + 2i + j: channel k of
    /// sub-cell (i, j), PyTorch's pixel_shuffle order), spread to maps twice as fine; 2 channels pass
    /// through; other counts are refused.
    func testSubcellMapsAreSpreadDepthToSpace() {
        // A 1 x 2 map of 8 channels: kernel logits 0 (probability 0.5) except one per cell; heights 10 * cell + sub-cell.
        var values = [Float](repeating: 0, count: 16)
        values[3] = 30          // cell 0, sub-cell (1, 1)
        values[8 + 0] = 30      // cell 1, sub-cell (0, 0)
        for c in 0..<2 { for k in 0..<4 { values[c * 8 + 4 + k] = Float(10 * c + k) } }
        var score: [Float] = [], height: [Float] = []
        values.withUnsafeBufferPointer { TextSpotter.spreadMaps($0, TensorShape(1, 2, 8), subcells: 2, score: &score, log2Height: &height) }
        XCTAssertEqual(height, [0, 1, 10, 11,
                                2, 3, 12, 13])
        XCTAssertEqual(score.map { $0 > 0.9 }, [false, false, true, false,
                                                false, true, false, false])
        values = [0, 5, 30, 6]
        values.withUnsafeBufferPointer { TextSpotter.spreadMaps($0, TensorShape(1, 2, 2), subcells: 1, score: &score, log2Height: &height) }
        XCTAssertEqual(height, [5, 6])
        XCTAssertEqual(TextSpotter.subcells(channels: 2), 1)
        XCTAssertEqual(TextSpotter.subcells(channels: 8), 2)
        XCTAssertNil(TextSpotter.subcells(channels: 4))
    }
}
