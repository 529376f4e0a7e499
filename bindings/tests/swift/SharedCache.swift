// The shared scenarios F-A, F-C and F-D of round 3 (the file shared cache, issue 11), which every
// surface runs with the same expected outcome, against the local issuer over real HTTP (the
// core's own tests of them are core/tests/shared_file.rs). F-B (8 processes) is not run here: a
// process per client is too heavy, and F-A covers the binding. Called from main.swift (same
// harness and counters); SharedCacheTest.kt runs the same scenarios in Kotlin.
//
// The tests run inside the Swift chroot (bindings/test-swift.sh), so the library sees the chroot's
// file system: every path here is one of the chroot's (its /tmp), made and removed by the test.

import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TokenKeeper

/// A client of the fixture whose process cache is off, so every call goes to the shared level.
func sharedClient(_ sharedCache: String?) throws -> TokenClient {
    try client(try sharedConfig(sharedCache))
}

func sharedConfig(_ sharedCache: String?, domain: String = Fx.url) throws -> ClientConfig {
    ClientConfig(
        domain: domain, clientId: Fx.clientId, credentials: Credentials.clientSecret(secret: Fx.clientSecret),
        http: fastRetries(), cacheEnabled: false, sharedCache: try sharedCache.map { try SharedCache(spec: $0) })
}

/// The temporary directory of the process (the chroot's), if it exists; else `/tmp`.
func tempRoot() -> String {
    var isDir: ObjCBool = false
    let t = FileManager.default.temporaryDirectory.path
    if FileManager.default.fileExists(atPath: t, isDirectory: &isDir), isDir.boolValue { return t }
    return "/tmp"
}

nonisolated(unsafe) var tempDirs = 0

/// Runs `body` with a fresh temporary directory, removed (with everything in it) afterwards.
func withTempDir<T>(_ body: (String) async throws -> T) async throws -> T {
    tempDirs += 1
    let base = "\(tempRoot())/tokenkeeper-swift-shared-\(getpid())-\(tempDirs)-\(DispatchTime.now().uptimeNanoseconds)"
    try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: false,
                                            attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(atPath: base) }
    return try await body(base)
}

/// The permission bits (`0o777`) of a path.
func mode(_ path: String) throws -> Int {
    let attrs = try FileManager.default.attributesOfItem(atPath: path)
    guard let p = attrs[.posixPermissions] as? NSNumber else { throw Failure(description: "no permissions for \(path)") }
    return p.intValue & 0o777
}

func sharedCacheTests() async {
    await testAsync("G2 a sign-in app on a shared level publishes its renewals there (one grant per refresh token for the fleet)") {
        try await withTempDir { base in
            let level = base + "/level"
            let app = try SignInClient(config: SignInConfig(
                domain: Fx.url, clientId: Fx.publicClientId, redirectUri: Fx.redirectUri,
                sharedCache: try SharedCache(spec: "file:" + level)))
            let first = try signIn(app).1
            let manager = CredentialsManager(signIn: app, storage: RecordingStorage())
            try manager.save(credentials: first)
            let before = try Admin.shared.count("grant:refresh_token")
            let renewed = try manager.renewBlocking()
            try expect(renewed.refreshToken() != first.refreshToken(), "the refresh token rotated")
            try expectEq(1, try Admin.shared.count("grant:refresh_token") - before, "refresh grants")
            let files = try FileManager.default.contentsOfDirectory(atPath: level).count
            try expect(files >= 2, "the outcome and its lock on the level: \(files) files")
        }
    }

    await testAsync("F-A shared within one process: two clients, 1 request, same token, a private sealed directory") {
        try await withTempDir { base in
            // The core creates the directory itself (mode 0700).
            let dir = base + "/cache"
            let aud = try admin.newApi()
            let req = TokenRequest(audience: aud)
            let before = try admin.tokenRequests()
            let a = try sharedClient("file:" + dir)
            let b = try sharedClient("file:" + dir)
            let t1 = try a.getTokenBlocking(request: req)
            // The second client through the async form: the same shared entry.
            let t2 = try await b.getToken(request: req)
            try expectEq(t1.accessToken(), t2.accessToken(), "the second client's access token")
            try expectEq(1, try admin.tokenRequests() - before, "token requests")
            let sa = a.stats(), sb = b.stats()
            try expectEq(1, sa.tokensMinted, "first client: tokens minted")
            try expectEq(0, sa.sharedHits, "first client: shared hits")
            try expectEq(0, sa.sharedErrors, "first client: shared errors")
            try expectEq(0, sb.tokensMinted, "second client: tokens minted")
            try expectEq(1, sb.sharedHits, "second client: shared hits")
            try expectEq(0, sb.sharedErrors, "second client: shared errors")

            try expectEq(0o700, try mode(dir), "directory mode")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            try expect(!names.isEmpty, "no file in the shared directory")
            let secrets = [t1.accessToken(), Fx.clientSecret, Fx.clientId, aud]
            for name in names {
                let path = dir + "/" + name
                var isDir: ObjCBool = false
                try expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue,
                           "\(name) is not a regular file")
                try expectEq(0o600, try mode(path), "mode of \(name)")
                guard let body = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read \(name)") }
                for (i, s) in secrets.enumerated() {
                    try expect(!name.contains(s), "the name \(name) shows secret #\(i)")
                    try expect(body.range(of: Data(s.utf8)) == nil, "\(name) holds secret #\(i) in plain text")
                }
            }
        }
    }

    await testAsync("F-A invalidate also forgets the shared entry: the next client fetches (2 requests)") {
        try await withTempDir { base in
            let shared = "file:" + base + "/cache"
            let req = TokenRequest(audience: try admin.newApi())
            let before = try admin.tokenRequests()
            let a = try sharedClient(shared)
            _ = try a.getTokenBlocking(request: req)
            a.invalidate(request: req)
            let b = try sharedClient(shared)
            _ = try b.getTokenBlocking(request: req)
            try expectEq(0, b.stats().sharedHits, "shared hits after invalidate")
            try expectEq(2, try admin.tokenRequests() - before, "token requests")
        }
    }

    await testAsync("F-C an unusable directory never fails getToken: a regular file as the directory") {
        try await withTempDir { base in
            let file = base + "/not-a-directory"
            try expect(FileManager.default.createFile(atPath: file, contents: Data("not a directory".utf8)), "cannot create \(file)")
            let req = TokenRequest(audience: try admin.newApi())
            let before = try admin.tokenRequests()
            let c = try sharedClient("file:" + file)
            _ = try c.getTokenBlocking(request: req)
            _ = try await c.getToken(request: req)
            try expectEq(2, try admin.tokenRequests() - before, "token requests (no cache at all)")
            let s = c.stats()
            try expect(s.sharedErrors >= 1, "shared errors: \(s.sharedErrors)")
            try expectEq(0, s.errors, "errors")
            try expectEq(2, s.tokensMinted, "tokens minted")
            try expectEq(Data("not a directory".utf8), FileManager.default.contents(atPath: file), "the file is untouched")
        }
    }

    test("F-D bad shared cache strings are Config when the client is built") {
        for bad in ["redis://127.0.0.1:notaport/0", "nope", "file:", "file:relative/dir"] {
            let e = try expectError("\"\(bad)\"") { try sharedClient(bad) }
            guard case let .Config(detail) = e else { throw Failure(description: "\"\(bad)\": expected Config, got \(e)") }
            try expect(!detail.isEmpty, "\"\(bad)\": empty detail")
            if bad.hasPrefix("redis") { try expect(detail.contains("Redis"), "the Redis detail: \(detail)") }
        }
        // nil (the default), "" and blank are off: no shared level, nothing counted.
        for off in [nil, "", "  "] as [String?] {
            let c = try sharedClient(off)
            _ = try c.getTokenBlocking(request: TokenRequest(audience: Fx.api))
            try expectEq(0, c.stats().sharedHits + c.stats().sharedErrors, "shared counters with \(String(describing: off))")
        }
    }

    test("N11: a Redis password shows in no ClientConfig text, and no unparsable URL is echoed") {
        let config = try sharedConfig("redis://:hunter2@127.0.0.1:6379/0")
        for text in [String(describing: config), String(reflecting: config), "\(config)"] {
            try expect(!text.contains("hunter2"), "ClientConfig text: \(text)")
        }
        let level = String(describing: config.sharedCache!)
        try expect(!level.contains("hunter2") && level.contains("redacted"), "SharedCache: \(level)")
        let e = try expectError("a domain with a password and a bad port") {
            try client(try sharedConfig(nil, domain: "https://user:hunter2@tenant.example.com:99999/"))
        }
        guard case let .Config(detail) = e else { throw Failure(description: "expected Config, got \(e)") }
        try expect(!detail.contains("hunter2") && detail.contains("[redacted]"), "the detail: \(detail)")
    }

    test("Redis: two clients share one token through sharedCache: \"redis://…\"") {
        // The run's Redis (bindings/test-swift.sh starts it, outside the chroot, on loopback): a
        // missing Redis fails, never skips.
        guard let url = ProcessInfo.processInfo.environment["TOKENKEEPER_TEST_REDIS_URL"], !url.isEmpty else {
            throw Failure(description: "TOKENKEEPER_TEST_REDIS_URL is not set")
        }
        let req = TokenRequest(audience: try admin.newApi())
        let before = try admin.tokenRequests()
        let a = try sharedClient(url)
        let b = try sharedClient(url)
        let t1 = try a.getTokenBlocking(request: req)
        let t2 = try b.getTokenBlocking(request: req)
        try expectEq(t1.accessToken(), t2.accessToken(), "the second client's access token")
        try expectEq(1, try admin.tokenRequests() - before, "token requests")
        try expectEq(1, b.stats().sharedHits, "shared hits")
        try expectEq(0, b.stats().sharedErrors, "shared errors")
    }
}
