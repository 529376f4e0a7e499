// HTTPS with an extra CA (issue 12, item 10), the scenario every surface runs: a token from the
// TLS issuer (test-swift.sh starts it with --tls: TK_TLS_*) with `HttpOptions(caFile: …)`, and a
// typed Network error naming the unknown issuer without it; an unreadable CA file is a Config
// error when the client is built. Called from main.swift; TlsTest.kt runs the same scenario.
//
// The CA arrives as PEM text (TK_TLS_CA_PEM): the tests run inside the chroot, so the file is
// written to the chroot's own temporary directory.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TokenKeeper

enum TlsFx {
    static let url = env("TK_TLS_URL")
    static let clientId = env("TK_TLS_CLIENT_ID")
    static let clientSecret = env("TK_TLS_CLIENT_SECRET")
    static let caPem = env("TK_TLS_CA_PEM")
}

func tlsClient(caFile: String?) throws -> TokenClient {
    try client(ClientConfig(
        domain: TlsFx.url, clientId: TlsFx.clientId,
        credentials: Credentials.clientSecret(secret: TlsFx.clientSecret),
        // Every call a request: a token cached by the trusting client must not answer.
        http: HttpOptions(maxAttempts: 1, caFile: caFile), cacheEnabled: false))
}

func tlsTests() {
    test("TLS: a token with caFile set, a Network error (unknown issuer) without it") {
        let ca = "\(tempRoot())/tokenkeeper-swift-ca-\(getpid()).pem"
        try TlsFx.caPem.write(toFile: ca, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: ca) }
        let t = try tlsClient(caFile: ca).getTokenBlocking(request: TokenRequest(audience: Fx.api))
        try expectEq(3, jwtParts(t.accessToken()), "JWT segments")
        let untrusted = try tlsClient(caFile: nil)
        let e = try expectError { try untrusted.getTokenBlocking(request: TokenRequest(audience: Fx.api)) }
        guard case let .Network(detail) = e else { throw Failure(description: "expected Network, got \(e)") }
        try expect(detail.contains("unknown issuer"), "detail: \(detail)")
        try expect(!"\(e)".contains(TlsFx.clientSecret), "a secret in: \(e)")
        let missing = try expectError { try tlsClient(caFile: ca + ".missing") }
        guard case let .Config(why) = missing else { throw Failure(description: "expected Config, got \(missing)") }
        try expect(why.contains("ca_file"), "detail: \(why)")
    }
}
