// Multi-Resource Refresh Token: the scenario of core/tests/signin_mrrt.rs and
// test_credentials.py (a token for an API of the refresh-token policies from the one refresh
// token, cached, its rotation saved; an audience outside the policies refused by the answer's
// `aud`). Called from main() in TokenKeeperTest.kt; Mrrt.swift runs the same scenario.

import java.time.Duration
import tokenkeeper.TokenException
import tokenkeeper.use

fun mrrtTests() {
    test("M MRRT: another API from the one refresh token, cached, its rotation saved; an audience outside the policies is Config") {
        val audience = System.getenv("TK_MRRT_AUDIENCE")!!
        val scope = System.getenv("TK_MRRT_SCOPE")!!
        SignedIn().use { s ->
            val before = Admin.count("grant:refresh_token")
            val t = s.manager.credentialsBlocking(Duration.ofMinutes(1), scope, audience)
            verifier(audience).use { v -> v.verifyBlocking(t.accessToken()).use { expect(audience in it.aud()) { "aud ${it.aud()}" } } }
            expectEq(null, t.refreshToken(), "no refresh token in an API's credentials")
            s.manager.stored()!!.use { stored ->
                expect(stored.refreshToken() != s.first.refreshToken()) { "the rotated refresh token was saved" }
                expectEq(s.first.accessToken(), stored.accessToken(), "the stored access token")
            }
            s.manager.credentialsBlocking(Duration.ofMinutes(1), scope, audience).use {
                expectEq(t.accessToken(), it.accessToken(), "the second call (cached)")
            }
            expectEq(1L, Admin.count("grant:refresh_token") - before, "refresh grants")
            val e = expectThrows<TokenException.Config> {
                s.manager.credentialsBlocking(Duration.ofMinutes(1), null, "https://elsewhere.example.com")
            }
            expect(e.detail.contains("https://elsewhere.example.com")) { e.detail }
            val reuse = Admin.count("refresh_reuse")
            s.manager.renewBlocking().close()
            expectEq(reuse, Admin.count("refresh_reuse"), "refresh-token reuse")
            t.close()
        }
    }
}
