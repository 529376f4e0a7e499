// Multi-Resource Refresh Token: the scenario of core/tests/signin_mrrt.rs, MrrtTest.kt and
// test_credentials.py. Called from main.swift.

import Foundation
import TokenKeeper

func mrrtTests() {
    test("M MRRT: another API from the one refresh token, cached, its rotation saved; an audience outside the policies is Config") {
        let audience = env("TK_MRRT_AUDIENCE"), scope = env("TK_MRRT_SCOPE")
        let s = try SignedIn()
        let before = try admin.count("grant:refresh_token")
        let t = try s.manager.credentialsBlocking(minTtl: 60, scope: scope, audience: audience)
        try expect(try verifier(audience: audience).verifyBlocking(token: t.accessToken()).aud().contains(audience), "aud")
        try expect(t.refreshToken() == nil, "no refresh token in an API's credentials")
        guard let stored = try s.manager.stored() else { throw Failure(description: "nothing stored") }
        try expect(stored.refreshToken() != s.first.refreshToken(), "the rotated refresh token was saved")
        try expectEq(s.first.accessToken(), stored.accessToken(), "the stored access token")
        try expectEq(t.accessToken(), try s.manager.credentialsBlocking(minTtl: 60, scope: scope, audience: audience).accessToken(),
                     "the second call (cached)")
        try expectEq(1, try admin.count("grant:refresh_token") - before, "refresh grants")
        let e = try expectError { try s.manager.credentialsBlocking(minTtl: 60, audience: "https://elsewhere.example.com") }
        guard case let .Config(detail) = e, detail.contains("https://elsewhere.example.com") else {
            throw Failure(description: "expected Config naming the audience, got \(e)")
        }
        let reuse = try admin.count("refresh_reuse")
        _ = try s.manager.renewBlocking()
        try expectEq(reuse, try admin.count("refresh_reuse"), "refresh-token reuse")
    }
}
