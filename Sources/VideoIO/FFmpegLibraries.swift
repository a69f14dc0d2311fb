import CFFmpeg
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libavdevice and libavfilter, opened the first time a command needs them.
///
/// On Debian bookworm the two pull in about 80 shared libraries beyond what libavformat, libavcodec and
/// libswscale already do (`ldd` of test programs: 136 libraries, 167 with libavfilter, 215 with libavdevice
/// too: SDL, X11, PulseAudio, JACK, ...); linked, they cost every `bitspot` process some 23 ms of CPU at
/// start (`perf stat -r 20` of those programs: 20.4 ms -> 33.2 ms -> 43.9 ms), although only cameras and other device inputs
/// (libavdevice) and `--annotate` (libavfilter's drawbox and drawtext) use them. So BitSpot links
/// libavformat, libavcodec, libswscale and libavutil, and opens these two with `dlopen` on first use, by the
/// names of the FFmpeg it was built against (`libavdevice.so.59`, `libavfilter.so.8` on Debian bookworm).
/// The deployment bundle lists their Debian packages all the same (`RuntimePackages`).
enum FFmpegLibraries {
    /// A library opened by name, or why it could not be.
    struct Library: @unchecked Sendable {
        let name: String
        let handle: UnsafeMutableRawPointer?
        let error: String?

        init(_ name: String) {
            self.name = name
            handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
            error = handle == nil ? dlerror().map { String(cString: $0) } ?? "not found" : nil
        }

        /// The function `symbol` as `T` (a `@convention(c)` function type), nil when it is missing.
        func function<T>(_ symbol: String, as type: T.Type) -> T? {
            guard let handle, let p = dlsym(handle, symbol) else { return nil }
            return unsafeBitCast(p, to: type)
        }
    }

    static let avdevice = Library(String(cString: bitspot_avdevice_soname()))
    static let avfilter = Library(String(cString: bitspot_avfilter_soname()))

    /// Opens libavdevice and registers its inputs (cameras, lavfi, screen grabbers), once. Returns
    /// whether they are registered; `avdevice.error` says why not.
    static let devicesRegistered: Bool = {
        typealias RegisterAll = @convention(c) () -> Void
        guard let register = avdevice.function("avdevice_register_all", as: RegisterAll.self) else { return false }
        register()
        return true
    }()
}

/// The libavfilter functions the annotator calls, from `FFmpegLibraries.avfilter`.
struct AVFilterFunctions {
    let getByName: @convention(c) (UnsafePointer<CChar>?) -> UnsafePointer<AVFilter>?
    let graphAlloc: @convention(c) () -> UnsafeMutablePointer<AVFilterGraph>?
    let graphAllocFilter: @convention(c) (UnsafeMutablePointer<AVFilterGraph>?, UnsafePointer<AVFilter>?, UnsafePointer<CChar>?)
        -> UnsafeMutablePointer<AVFilterContext>?
    let initString: @convention(c) (UnsafeMutablePointer<AVFilterContext>?, UnsafePointer<CChar>?) -> Int32
    let link: @convention(c) (UnsafeMutablePointer<AVFilterContext>?, UInt32, UnsafeMutablePointer<AVFilterContext>?, UInt32) -> Int32
    let graphConfig: @convention(c) (UnsafeMutablePointer<AVFilterGraph>?, UnsafeMutableRawPointer?) -> Int32
    let graphFree: @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<AVFilterGraph>?>?) -> Void
    let sourceAddFrame: @convention(c) (UnsafeMutablePointer<AVFilterContext>?, UnsafeMutablePointer<AVFrame>?, Int32) -> Int32
    let sinkGetFrame: @convention(c) (UnsafeMutablePointer<AVFilterContext>?, UnsafeMutablePointer<AVFrame>?) -> Int32

    /// The functions, or a one-line reason (library or function missing).
    static let shared: Result<AVFilterFunctions, VideoIOError> = {
        let lib = FFmpegLibraries.avfilter
        guard lib.handle != nil else {
            return .failure(VideoIOError(.outputFailed, lib.name, "cannot load FFmpeg's libavfilter, which draws the boxes and labels: \(lib.error ?? "") (install libavfilter)"))
        }
        func f<T>(_ name: String, _ type: T.Type) throws(VideoIOError) -> T {
            guard let fn = lib.function(name, as: type) else {
                throw VideoIOError(.outputFailed, lib.name, "has no function \(name)")
            }
            return fn
        }
        do {
            return .success(AVFilterFunctions(
                getByName: try f("avfilter_get_by_name", (@convention(c) (UnsafePointer<CChar>?) -> UnsafePointer<AVFilter>?).self),
                graphAlloc: try f("avfilter_graph_alloc", (@convention(c) () -> UnsafeMutablePointer<AVFilterGraph>?).self),
                graphAllocFilter: try f("avfilter_graph_alloc_filter", (@convention(c) (UnsafeMutablePointer<AVFilterGraph>?, UnsafePointer<AVFilter>?,
                                                                                          UnsafePointer<CChar>?) -> UnsafeMutablePointer<AVFilterContext>?).self),
                initString: try f("avfilter_init_str", (@convention(c) (UnsafeMutablePointer<AVFilterContext>?, UnsafePointer<CChar>?) -> Int32).self),
                link: try f("avfilter_link", (@convention(c) (UnsafeMutablePointer<AVFilterContext>?, UInt32,
                                                              UnsafeMutablePointer<AVFilterContext>?, UInt32) -> Int32).self),
                graphConfig: try f("avfilter_graph_config", (@convention(c) (UnsafeMutablePointer<AVFilterGraph>?, UnsafeMutableRawPointer?) -> Int32).self),
                graphFree: try f("avfilter_graph_free", (@convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<AVFilterGraph>?>?) -> Void).self),
                sourceAddFrame: try f("av_buffersrc_add_frame_flags", (@convention(c) (UnsafeMutablePointer<AVFilterContext>?,
                                                                                      UnsafeMutablePointer<AVFrame>?, Int32) -> Int32).self),
                sinkGetFrame: try f("av_buffersink_get_frame", (@convention(c) (UnsafeMutablePointer<AVFilterContext>?,
                                                                               UnsafeMutablePointer<AVFrame>?) -> Int32).self)))
        } catch let error as VideoIOError {
            return .failure(error)
        } catch {
            return .failure(VideoIOError(.outputFailed, lib.name, "\(error)"))
        }
    }()
}
