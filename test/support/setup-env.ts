/** Runs before every test file: quiet the AWS SDK's Node 20 deprecation notice (we pin Node 20 on this machine). */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
