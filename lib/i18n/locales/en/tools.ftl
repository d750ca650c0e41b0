# Why a backend could not be read, as a person reads it on a card or page (the model
# reads its own, longer wording with advice).
tool-not-configured = { $api } is not configured ({ $variable } is unset)
tool-refused = refused { $method } { $path } to { $api }: not a read-only query endpoint, nothing was sent
tool-invalid = invalid argument: { $detail }
tool-range-too-long = the range of { $requested } s is longer than the { $max } s allowed
tool-timeout = { $api } did not answer within { $seconds } s
tool-unreachable = { $api } is unreachable ({ $detail })
tool-rejected = { $api } rejected the request (HTTP { $status }): { $message }
tool-too-large = { $api } answered more than { $limit } bytes
tool-failed = { $tool } failed: { $message }
tool-malformed = { $api } answered something that is not its API's JSON ({ $detail })
