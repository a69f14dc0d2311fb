import CFFmpeg
import Foundation

/// An 8-bit sRGB colour.
public struct AnnotationColor: Sendable, Equatable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// FFmpeg's colour syntax, `0xRRGGBB`.
    var ffmpeg: String { String(format: "0x%02X%02X%02X", red, green, blue) }

    /// Bright colours that black text reads well on and that stand out on grey (yellow first).
    public static let palette: [AnnotationColor] = [
        AnnotationColor(red: 255, green: 221, blue: 0), AnnotationColor(red: 0, green: 229, blue: 255),
        AnnotationColor(red: 118, green: 255, blue: 3), AnnotationColor(red: 255, green: 64, blue: 255),
        AnnotationColor(red: 255, green: 145, blue: 0), AnnotationColor(red: 64, green: 156, blue: 255),
        AnnotationColor(red: 255, green: 128, blue: 171), AnnotationColor(red: 29, green: 233, blue: 182),
    ]
}

/// A box to outline on a frame, with a label drawn beside it.
public struct Annotation: Sendable, Equatable {
    /// The box in frame pixels, `x1`/`y1` exclusive (as ``WordBox`` in Spotting).
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double
    /// Drawn above the box (below it when there is no room above); nothing when empty.
    public var label: String
    public var color: AnnotationColor

    public init(x0: Double, y0: Double, x1: Double, y1: Double, label: String, color: AnnotationColor) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
        self.label = label
        self.color = color
    }
}

/// A picture in planar YUV 4:2:0 (limited range, as video is), rows packed with no padding.
public struct YUV420Picture: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height` luma samples.
    public var y: [UInt8]
    /// `chromaWidth * chromaHeight` samples each; 128 is no colour.
    public var u: [UInt8]
    public var v: [UInt8]

    public var chromaWidth: Int { (width + 1) / 2 }
    public var chromaHeight: Int { (height + 1) / 2 }

    /// A grey picture: `luma` as the Y plane (as decoded, unchanged), no colour.
    public init(width: Int, height: Int, luma: [UInt8]) {
        precondition(luma.count == width * height, "luma buffer size does not match \(width)x\(height)")
        self.width = width
        self.height = height
        y = luma
        u = [UInt8](repeating: 128, count: ((width + 1) / 2) * ((height + 1) / 2))
        v = u
    }

    /// The Y, U and V samples at (x, y) (chroma of the 2x2 block holding it).
    public subscript(x: Int, y: Int) -> (y: UInt8, u: UInt8, v: UInt8) {
        let c = (y / 2) * chromaWidth + x / 2
        return (self.y[y * width + x], u[c], v[c])
    }
}

/// The font for the labels: a file FreeType loads, or a fontconfig pattern that drawtext resolves.
public enum AnnotationFont: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case fontconfig(String)

    /// Searched in order when no font is given: Debian's fonts-dejavu-core (a dependency of fontconfig
    /// on Debian and Raspberry Pi OS), then other common sans fonts.
    public static let searchPaths = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
        "/usr/share/fonts/opentype/noto/NotoSans-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    ]

    /// The given file (which must exist and be a TrueType, OpenType, WOFF or Type 1 font), else the first
    /// of ``searchPaths`` present, else fontconfig's `Sans:bold` (checked when a ``FrameAnnotator`` is made).
    public static func locate(_ file: String?, searchPaths: [String] = AnnotationFont.searchPaths) throws -> AnnotationFont {
        if let file {
            guard FileManager.default.isReadableFile(atPath: file), let handle = FileHandle(forReadingAtPath: file) else {
                throw VideoIOError(.inputMissing, file, "no such font file (or not readable)")
            }
            let head = [UInt8]((try? handle.read(upToCount: 14)) ?? Data())
            try? handle.close()
            // drawtext quietly falls back to fontconfig when FreeType cannot load the file: check it here.
            guard isFont(head) else { throw VideoIOError(.inputInvalid, file, "not a TrueType, OpenType, WOFF or Type 1 font") }
            return .file(file)
        }
        if let found = searchPaths.first(where: { FileManager.default.isReadableFile(atPath: $0) }) { return .file(found) }
        return .fontconfig("Sans:bold")
    }

    /// Whether a file's first bytes are those of a font FreeType loads (sfnt, collection, WOFF, Type 1).
    static func isFont(_ head: [UInt8]) -> Bool {
        let tags: [[UInt8]] = [[0, 1, 0, 0], Array("OTTO".utf8), Array("true".utf8), Array("typ1".utf8), Array("ttcf".utf8),
                               Array("wOFF".utf8), Array("wOF2".utf8), [0x80, 0x01], Array("%!PS-AdobeFont".utf8), Array("%!FontType1".utf8)]
        return tags.contains { head.starts(with: $0) }
    }

    public var description: String {
        switch self {
        case .file(let path): return path
        case .fontconfig(let pattern): return "fontconfig '\(pattern)'"
        }
    }
}

/// Draws boxes and labels on grey frames with libavfilter (`drawbox`, and `drawtext` through FreeType),
/// giving colour pictures for ``VideoWriter``.
///
/// A frame without annotations becomes a grey picture without going through a filter graph. For a frame
/// with annotations a graph `buffer -> drawbox... -> drawtext... -> buffersink` is built (one filter per
/// box and label, options set directly, so labels need no escaping) and kept while the annotations stay
/// the same. Each box is outlined just outside it, `thickness` pixels wide; its label is black text on a
/// band of the box's colour, above the outline (below it at the top of the frame), kept inside the frame.
public final class FrameAnnotator {
    public let size: FrameSize
    public let font: AnnotationFont
    /// Label text height in pixels (FreeType's pixel size).
    public let fontSize: Int
    /// Outline width in pixels.
    public let thickness: Int
    /// Graphs built so far (a graph is reused while the annotations do not change).
    public private(set) var graphsBuilt = 0

    private let subject: String
    /// libavfilter, opened on first use (`FFmpegLibraries`).
    private let fx: AVFilterFunctions
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private var source: UnsafeMutablePointer<AVFilterContext>?
    private var sink: UnsafeMutablePointer<AVFilterContext>?
    private var graphKey: [Annotation]?
    private var input: UnsafeMutablePointer<AVFrame>?
    private var output: UnsafeMutablePointer<AVFrame>?

    /// Makes an annotator for frames of `size`; draws one label to check the filters and the font.
    /// `subject` names the output in errors. Defaults: labels 1/30 of the frame height (at least 12 px),
    /// outlines 1/240 (at least 2 px).
    public init(size: FrameSize, font: AnnotationFont, fontSize: Int? = nil, thickness: Int? = nil, subject: String = "annotate") throws {
        self.size = size
        self.font = font
        self.fontSize = fontSize ?? max(12, size.height / 30)
        self.thickness = thickness ?? max(2, size.height / 240)
        self.subject = subject
        fx = try AVFilterFunctions.shared.get()
        for name in ["buffer", "buffersink", "drawbox", "drawtext"] where fx.getByName(name) == nil {
            throw VideoIOError(.outputFailed, subject, "this FFmpeg build has no '\(name)' filter (drawtext needs libavfilter built with FreeType)")
        }
        input = av_frame_alloc()
        output = av_frame_alloc()
        guard input != nil, output != nil else { throw VideoIOError(.outputFailed, subject, "out of memory") }
        // One label through a graph now, so a font that does not load fails before any frame is read.
        let probe = Annotation(x0: 2, y0: Double(size.height) / 2, x1: 10, y1: Double(size.height) / 2 + 4, label: "A0",
                               color: AnnotationColor.palette[0])
        _ = try draw(YUV420Picture(width: size.width, height: size.height, luma: [UInt8](repeating: 16, count: size.width * size.height)), [probe])
        freeGraph()
        graphsBuilt = 0
    }

    deinit {
        freeGraph()
        av_frame_free(&input)
        av_frame_free(&output)
    }

    /// A colour picture of `frame` (scaled to ``size`` if it differs, annotations with it) with the annotations drawn.
    public func draw(_ frame: LumaFrame, _ annotations: [Annotation]) throws -> YUV420Picture {
        if frame.width == size.width, frame.height == size.height {
            return try draw(YUV420Picture(width: size.width, height: size.height, luma: frame.pixels), annotations)
        }
        let scaled = try Raster(frame).resized(to: size)
        let sx = Double(size.width) / Double(frame.width), sy = Double(size.height) / Double(frame.height)
        let moved = annotations.map { a in
            Annotation(x0: a.x0 * sx, y0: a.y0 * sy, x1: a.x1 * sx, y1: a.y1 * sy, label: a.label, color: a.color)
        }
        return try draw(YUV420Picture(width: size.width, height: size.height, luma: scaled.bytes), moved)
    }

    /// `picture` (of ``size``) with the annotations drawn on it.
    public func draw(_ picture: YUV420Picture, _ annotations: [Annotation]) throws -> YUV420Picture {
        guard picture.width == size.width, picture.height == size.height else {
            throw VideoIOError(.badRequest, subject, "picture is \(picture.width)x\(picture.height), the annotator draws \(size)")
        }
        if annotations.isEmpty { return picture }
        if graphKey != annotations {
            freeGraph()
            try buildGraph(annotations)
            graphKey = annotations
        }
        guard let input, let output, let source, let sink else { throw VideoIOError(.outputFailed, subject, "no filter graph") }
        input.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        input.pointee.width = Int32(size.width)
        input.pointee.height = Int32(size.height)
        guard av_frame_get_buffer(input, 0) >= 0 else { throw VideoIOError(.outputFailed, subject, "out of memory") }
        Self.copy(picture, into: input)
        input.pointee.pts = 0
        // The graph takes the frame's reference (and leaves `input` empty for the next one).
        var r = fx.sourceAddFrame(source, input, 0)
        av_frame_unref(input)
        guard r >= 0 else { throw VideoIOError(.outputFailed, subject, "the drawing filters refused a frame (\(FFmpegCall.message(r)))") }
        r = fx.sinkGetFrame(sink, output)
        guard r >= 0 else { throw VideoIOError(.outputFailed, subject, "the drawing filters gave no frame (\(FFmpegCall.message(r)))") }
        defer { av_frame_unref(output) }
        guard output.pointee.format == AV_PIX_FMT_YUV420P.rawValue, output.pointee.width == Int32(size.width),
              output.pointee.height == Int32(size.height) else {
            throw VideoIOError(.outputFailed, subject, "the drawing filters changed the picture's format")
        }
        var result = picture
        Self.copy(output, into: &result)
        return result
    }

    // MARK: - Filter graph

    private func buildGraph(_ annotations: [Annotation]) throws {
        guard let g = fx.graphAlloc() else { throw VideoIOError(.outputFailed, subject, "out of memory") }
        graph = g
        graphsBuilt += 1
        // No thread pool for a graph that lives for a frame or a few.
        g.pointee.nb_threads = 1
        let src = try add("buffer", "in", [
            ("video_size", "\(size.width)x\(size.height)"), ("pix_fmt", "yuv420p"), ("time_base", "1/25"), ("pixel_aspect", "1/1"),
        ])
        source = src
        var last = src
        let w = size.width, h = size.height, t = thickness
        var boxes: [(x: Int, y: Int, x1: Int, y1: Int)] = []
        for (i, a) in annotations.enumerated() {
            // The outline goes just outside the box, clamped to the frame.
            let x = max(0, Int(a.x0.rounded(.down)) - t), y = max(0, Int(a.y0.rounded(.down)) - t)
            let x1 = min(w, Int(a.x1.rounded(.up)) + t), y1 = min(h, Int(a.y1.rounded(.up)) + t)
            boxes.append((x, y, x1, y1))
            guard x1 > x, y1 > y else { continue }
            let f = try add("drawbox", "box\(i)", [
                ("x", "\(x)"), ("y", "\(y)"), ("width", "\(x1 - x)"), ("height", "\(y1 - y)"),
                ("color", a.color.ffmpeg), ("thickness", "\(t)"),
            ])
            try link(last, f)
            last = f
        }
        let pad = max(2, fontSize / 6)
        for (i, a) in annotations.enumerated() where !a.label.isEmpty {
            let b = boxes[i]
            // Above the outline when the band fits, otherwise under it; never outside the frame.
            let above = "\(b.y)-\(pad)-th", below = "\(b.y1)+\(pad)"
            var options: [(String, String)] = [
                ("text", a.label), ("expansion", "none"), ("fontsize", "\(fontSize)"), ("fontcolor", "black"),
                ("box", "1"), ("boxcolor", a.color.ffmpeg), ("boxborderw", "\(pad)"),
                ("x", "max(\(pad),min(\(b.x)+\(pad),w-tw-\(pad)))"),
                ("y", "if(gte(\(above),\(pad)),\(above),min(\(below),h-th-\(pad)))"),
            ]
            switch font {
            case .file(let path): options.append(("fontfile", path))
            case .fontconfig(let pattern): options.append(("font", pattern))
            }
            let f = try add("drawtext", "label\(i)", options)
            try link(last, f)
            last = f
        }
        let out = try add("buffersink", "out", [])
        sink = out
        try link(last, out)
        let r = fx.graphConfig(g, nil)
        guard r >= 0 else { throw VideoIOError(.outputFailed, subject, "cannot set up the drawing filters (\(FFmpegCall.message(r)))") }
    }

    private func add(_ filterName: String, _ name: String, _ options: [(String, String)]) throws -> UnsafeMutablePointer<AVFilterContext> {
        guard let g = graph, let filter = fx.getByName(filterName), let ctx = fx.graphAllocFilter(g, filter, name) else {
            throw VideoIOError(.outputFailed, subject, "cannot create the '\(filterName)' filter")
        }
        for (key, value) in options {
            let r = bitspot_filter_set(ctx, key, value)
            guard r >= 0 else { throw VideoIOError(.outputFailed, subject, "the '\(filterName)' filter rejects \(key)=\(value) (\(FFmpegCall.message(r)))") }
        }
        let r = fx.initString(ctx, nil)
        guard r >= 0 else {
            if filterName == "drawtext" { throw fontError(r) }
            throw VideoIOError(.outputFailed, subject, "cannot set up the '\(filterName)' filter (\(FFmpegCall.message(r)))")
        }
        return ctx
    }

    private func fontError(_ code: Int32) -> VideoIOError {
        switch font {
        case .file(let path):
            return VideoIOError(.inputInvalid, path, "FreeType cannot load this font (\(FFmpegCall.message(code)))")
        case .fontconfig:
            return VideoIOError(.outputFailed, subject, "no font for the labels (none of the usual files, and fontconfig found none); install fonts-dejavu-core or give --annotate-font FILE")
        }
    }

    private func link(_ a: UnsafeMutablePointer<AVFilterContext>, _ b: UnsafeMutablePointer<AVFilterContext>) throws {
        let r = fx.link(a, 0, b, 0)
        guard r >= 0 else { throw VideoIOError(.outputFailed, subject, "cannot link the drawing filters (\(FFmpegCall.message(r)))") }
    }

    private func freeGraph() {
        fx.graphFree(&graph)
        source = nil
        sink = nil
        graphKey = nil
    }

    // MARK: - Plane copies

    static func copy(_ picture: YUV420Picture, into frame: UnsafeMutablePointer<AVFrame>) {
        let planes: [(bytes: [UInt8], width: Int, height: Int)] = [
            (picture.y, picture.width, picture.height), (picture.u, picture.chromaWidth, picture.chromaHeight),
            (picture.v, picture.chromaWidth, picture.chromaHeight),
        ]
        let data = [frame.pointee.data.0, frame.pointee.data.1, frame.pointee.data.2]
        let strides = [Int(frame.pointee.linesize.0), Int(frame.pointee.linesize.1), Int(frame.pointee.linesize.2)]
        for (p, plane) in planes.enumerated() {
            guard let dst = data[p] else { continue }
            plane.bytes.withUnsafeBufferPointer { src in
                for row in 0..<plane.height {
                    (dst + row * strides[p]).update(from: src.baseAddress! + row * plane.width, count: plane.width)
                }
            }
        }
    }

    static func copy(_ frame: UnsafeMutablePointer<AVFrame>, into picture: inout YUV420Picture) {
        let data = [frame.pointee.data.0, frame.pointee.data.1, frame.pointee.data.2]
        let strides = [Int(frame.pointee.linesize.0), Int(frame.pointee.linesize.1), Int(frame.pointee.linesize.2)]
        func read(_ p: Int, _ width: Int, _ height: Int, _ out: inout [UInt8]) {
            guard let src = data[p] else { return }
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<height {
                    (dst.baseAddress! + row * width).update(from: src + row * strides[p], count: width)
                }
            }
        }
        read(0, picture.width, picture.height, &picture.y)
        read(1, picture.chromaWidth, picture.chromaHeight, &picture.u)
        read(2, picture.chromaWidth, picture.chromaHeight, &picture.v)
    }
}
