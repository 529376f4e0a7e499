// Gets a token from the tenant (or the local issuer) named in the environment, prints the
// header's scheme and the token's lifetime (never the token), then the cached hit.
//   TK_URL=… TK_CLIENT_ID=… TK_CLIENT_SECRET=… swift run Example
import Foundation
import TokenKeeper

func env(_ name: String) -> String {
    guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
        fatalError("\(name) is not set")
    }
    return v
}

let client = try TokenClient(config: ClientConfig(
    domain: env("TK_URL"),
    clientId: env("TK_CLIENT_ID"),
    credentials: Credentials.clientSecret(secret: env("TK_CLIENT_SECRET"))
))
let request = TokenRequest(audience: "https://api.example.com", scope: "read:things")
let token = try client.getTokenBlocking(request: request)
let header = token.authorizationHeader()
precondition(header.hasPrefix("Bearer "), "a bearer header")
let again = try client.getTokenBlocking(request: request)
precondition(again.isSame(other: token), "the second call is a cache hit")
print("example: tokenkeeper \(tokenkeeperVersion()), a \(token.expiresIn())-s token, header \(header.prefix(7))…, hits \(client.stats().cacheHits)")
