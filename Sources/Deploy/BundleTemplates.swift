/// The small text files every bundle carries.
enum BundleTemplates {
    static let runScript = """
        #!/bin/sh
        # Runs BitSpot from this bundle: its models and sample are found through BITSPOT_HOME.
        here=$(cd "$(dirname "$0")" && pwd)
        export BITSPOT_HOME="$here"
        if [ -d "$here/lib" ]; then export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
        exec "$here/bin/bitspot" "$@"

        """

    static let environment = """
        # /etc/default/bitspot (copy of config/bitspot.env): what the camera service runs.
        # BITSPOT_ARGS is passed to bitspot. The default spots text on the first camera twice a second
        # (frames that did not change are skipped by the gate), prints one JSON line per frame and per
        # text to the journal, and opens the camera again when it is lost (see `bitspot spot --help`).
        BITSPOT_ARGS=spot /dev/video0 --fps 2 --gate 3 --camera-size 1280x720 --camera-rate 30 --json --reconnect 1000

        """

    static let budget = """
        # Default budget for `bitspot bench` on a Raspberry Pi 4B/5 (one item per line).
        p95=250ms
        energy=1J/frame

        """

    static func serviceUnit(installDir: String) -> String {
        """
        [Unit]
        Description=BitSpot text spotting on the camera
        After=local-fs.target
        Wants=dev-video0.device

        [Service]
        Type=simple
        EnvironmentFile=-/etc/default/bitspot
        StateDirectory=bitspot
        ExecStart=\(installDir)/run.sh $BITSPOT_ARGS
        Restart=on-failure
        RestartSec=5
        # SIGTERM makes BitSpot write what it has and exit 130: a clean stop, not a failure.
        SuccessExitStatus=130
        Nice=5

        [Install]
        WantedBy=multi-user.target

        """
    }

    static func readme(target: BundleTarget, packages: [String], bundlesFFmpeg: Bool = false) -> String {
        """
        # BitSpot bundle (\(target.rawValue), \(target.triple))

        Copy this folder to the board, e.g. to /opt/bitspot, then:

            sudo apt-get install \(packages.joined(separator: " "))
            /opt/bitspot/run.sh verify-bundle /opt/bitspot   # checks every file against manifest.json
            /opt/bitspot/run.sh probe /opt/bitspot/Samples/sample.mp4
            /opt/bitspot/run.sh spot /opt/bitspot/Samples/sample.mp4    # the text it reads
            /opt/bitspot/run.sh bench --budget-file /opt/bitspot/config/budget.txt   # cost per frame on this board

        Camera service (systemd):

            sudo cp /opt/bitspot/config/bitspot.env /etc/default/bitspot   # edit BITSPOT_ARGS
            sudo cp /opt/bitspot/systemd/bitspot-camera.service /etc/systemd/system/
            sudo systemctl daemon-reload && sudo systemctl enable --now bitspot-camera

        Files: bin/bitspot (the program), lib/ (the Swift runtime it links\(bundlesFFmpeg ? ", and FFmpeg's libraries" : "")), run.sh
        (runs bin/bitspot with lib/ on the library path), Models/, Samples/, config/ (service settings,
        default budget), systemd/, manifest.json (SHA-256 of every file).
        \(bundlesFFmpeg ? """

            FFmpeg comes with the bundle in lib/ (a lean build, Scripts/ffmpeg/build-lean.sh: only the formats,
            decoders, filters and encoders BitSpot uses), so the board needs none of Debian's FFmpeg packages.

            """ : "")

        """
    }
}
