"""
The embedded AWS of the local cloud: moto's server with the local cloud's adjustments, started by
local/moto.ts as `python3 moto_launcher.py <host> <port> <parent-pid> <local-queue-urls> <builtin-event-sources>`.

Each adjustment is applied on its own; one that cannot be applied to this moto version prints a
line starting with "local cloud: " on stderr (local/moto.ts shows it to the user at once) and the
server starts without it.
"""
import json, os, re, signal, sys, logging, threading, time

def exit_with_parent(parent):
    # Linux: the kernel sends SIGTERM when the parent dies (PR_SET_PDEATHSIG), even after SIGKILL.
    # Elsewhere (macOS): a thread notices that the parent is gone within a second.
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except Exception:
        def watch():
            while os.getppid() == parent:
                time.sleep(1)
            os.kill(os.getpid(), signal.SIGTERM)
        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:
        sys.exit(0)

exit_with_parent(int(sys.argv[3]))
logging.getLogger('werkzeug').setLevel(logging.ERROR)
port = sys.argv[2]

def warn(what, error):
    sys.stderr.write('local cloud: could not %s in this moto version (%r); continuing without it\n' % (what, error))
    sys.stderr.flush()

# botocore reads a service's model (and its endpoint data) from its JSON files again for every new
# Session, an OrderedDict for every object, and moto makes a Session for each partition's EC2
# regions as it starts: EC2's model was read three times, 0.45 s of the start's 1.2 s of CPU. The
# files do not change while the server runs: read each once. (Before moto is imported.)
try:
    import botocore.loaders as botocore_loaders

    def read_once(original):
        read = {}

        def load(self, *args, **kwargs):
            key = (tuple(self.search_paths), args, tuple(sorted(kwargs.items())))
            if key not in read:
                read[key] = original(self, *args, **kwargs)
            return read[key]
        return load
    botocore_loaders.Loader.load_service_model = read_once(botocore_loaders.Loader.load_service_model)
    botocore_loaders.Loader.load_data_with_path = read_once(botocore_loaders.Loader.load_data_with_path)
except Exception as e:
    warn('read each botocore model once', e)

# moto's SQS reads the clock through datetime arithmetic (about 5 us a reading, with an import
# inside utcnow) for every message it looks at, and a SendMessage computes the queue's attributes,
# which counts every message three times: each request cost about 15 us per message the queue
# held (17 ms of CPU for a send to a queue of 1,500 messages). Read it as time.time() instead: the
# same clock (seconds since the epoch), without the arithmetic. A call with a datetime is moto's.
try:
    import moto.sqs.models as sqs_models
    from moto.core import utils as moto_utils

    def fast_clock(original, scale):
        def clock(dt=None):
            return time.time() * scale if dt is None else original(dt)
        return clock
    sqs_models.unix_time = fast_clock(moto_utils.unix_time, 1.0)
    sqs_models.unix_time_millis = fast_clock(moto_utils.unix_time_millis, 1000.0)

    # The queue's views of its messages read the clock once, not once per message and property
    # (a message is visible when now > visible_at, delayed when now < delayed_until, as moto's
    # Message.visible and Message.delayed say; the count of visible messages is len(messages), as
    # moto's), and a receipt handle is matched without building the list of every handle a message had.
    def visible_messages(queue):
        now = time.time() * 1000.0
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed_count(queue):
        now = time.time() * 1000.0
        return sum(1 for m in queue._messages if now < m.delayed_until)

    def not_visible_count(queue):
        now = time.time() * 1000.0
        return sum(1 for m in queue._messages if not now > m.visible_at)

    def had_receipt_handle(message, handle):
        return handle == message.receipt_handle or handle in message._old_receipt_handles

    sqs_models.Queue.messages = property(visible_messages)
    sqs_models.Queue.approximate_number_of_messages_delayed = property(delayed_count)
    sqs_models.Queue.approximate_number_of_messages_not_visible = property(not_visible_count)
    sqs_models.Message.had_receipt_handle = had_receipt_handle
except Exception as e:
    warn('read the clock cheaply in SQS', e)

# moto's server finds the service of every request by listing its own package folder (a stat of
# each of some 200 entries) and then matching the host against every service's URL patterns, under
# one lock: 0.65 ms of CPU a request, a third of a DynamoDB PutItem's. The answer for a host never
# changes while the server runs: remember it.
try:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original_backend_for_host = DomainDispatcherApplication.get_backend_for_host
    backend_for_host = {}

    def get_backend_for_host(self, host):
        if host not in backend_for_host:
            backend_for_host[host] = original_backend_for_host(self, host)
        return backend_for_host[host]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
except Exception as e:
    warn('remember the service of each host', e)

# It also lists the methods of the service's response class on every request (inspect.getmembers,
# about 0.2 ms): a class's methods do not change while the server runs either.
try:
    import functools
    import moto.core.responses as moto_responses

    moto_responses.method_names_from_class = functools.lru_cache(maxsize=None)(moto_responses.method_names_from_class)
except Exception as e:
    warn('remember the methods of each response class', e)

# moto's SQS computes every attribute of a queue (counts over all its messages included) to answer
# for one: a GetQueueAttributes of named attributes computed them all three times per name, and a
# ReceiveMessage read the retention period that way for every message it looked at, so a receive
# cost as much as the queue held, squared. Compute them once per call, and read the retention
# period from the queue. The answers are moto's.
try:
    from moto.sqs.models import SQSBackend

    original_get_queue_attributes = SQSBackend.get_queue_attributes

    def get_queue_attributes(self, queue_name, attribute_names):
        if not attribute_names or 'All' in attribute_names:
            return original_get_queue_attributes(self, queue_name, attribute_names)
        queue = self.get_queue(queue_name)
        valid = ['All'] + queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES + queue.KMS_ATTRIBUTES
        if any(name not in valid for name in attribute_names):
            return original_get_queue_attributes(self, queue_name, attribute_names)  # moto's error
        attributes = queue.attributes
        return {name: attributes[name] for name in attribute_names if attributes.get(name) is not None}
    SQSBackend.get_queue_attributes = get_queue_attributes

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return retention_period + message.sent_timestamp / 1000 > time.time()
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
except Exception as e:
    warn('compute SQS queue attributes once per request', e)

# moto converts attribute and parameter names from camel case on every use, a character at a time
# (about 25 us a name, some 60 per SQS request): a name's conversion never changes.
try:
    import functools
    from moto.core import utils as moto_core_utils

    original_camelcase = moto_core_utils.camelcase_to_underscores
    cached_camelcase = functools.lru_cache(maxsize=4096)(original_camelcase)
    moto_core_utils.camelcase_to_underscores = cached_camelcase
    for module in list(sys.modules.values()):  # the modules that imported it by name already
        if getattr(module, 'camelcase_to_underscores', None) is original_camelcase and getattr(module, '__name__', '').startswith('moto.'):
            module.camelcase_to_underscores = cached_camelcase
except Exception as e:
    warn('remember camel case conversions', e)

if sys.argv[4] == '1':
    # CloudFormation's Ref of a queue is its URL. moto makes it https://sqs.<region>.amazonaws.com/...,
    # which SDKs then call directly (they send to the QueueUrl's host): make it reach this server,
    # as a real queue URL reaches real SQS.
    try:
        from moto.sqs.models import Queue
        Queue.physical_resource_id = property(lambda self: 'http://localhost:%s/%s/%s' % (port, self.account_id, self.name))
    except Exception as e:
        warn('give CloudFormation queues local URLs', e)

# SQS publishes NumberOfMessagesDeleted to CloudWatch (namespace AWS/SQS, dimension QueueName);
# moto publishes nothing. Record it as SQS does, per message a delete removed (a delete of a
# message already deleted counts nothing here; AWS counts it), so that the local cloud counts the
# jobs its workers finished, whoever sent them. Also record each ReceiveMessage call as it starts
# (cdk-cloud-patterns/local-cloud ReceiveMessageCalls, not an AWS metric): a long poll on an
# empty queue returns only after its wait, and a worker is seen polling from its call's start.
try:
    from moto.sqs.models import Queue, SQSBackend
    from moto.cloudwatch.models import MetricDatum, cloudwatch_backends

    def publish(queue, namespace, name, value):
        try:
            cloudwatch_backends[queue.account_id][queue.region].metric_data.append(
                MetricDatum(namespace, name, float(value), [{'Name': 'QueueName', 'Value': queue.name}], None, 'Count'))
        except Exception:
            pass

    original_delete_message = Queue.delete_message

    def delete_message(self, receipt_handle):
        before = len(self._messages)
        original_delete_message(self, receipt_handle)
        if len(self._messages) < before:
            publish(self, 'AWS/SQS', 'NumberOfMessagesDeleted', before - len(self._messages))
    Queue.delete_message = delete_message

    original_receive_message = SQSBackend.receive_message

    def receive_message(self, queue_name, *args, **kwargs):
        try:
            publish(self.get_queue(queue_name), 'cdk-cloud-patterns/local-cloud', 'ReceiveMessageCalls', 1)
        except Exception:
            pass
        return original_receive_message(self, queue_name, *args, **kwargs)
    SQSBackend.receive_message = receive_message
except Exception as e:
    warn('publish SQS metrics to CloudWatch', e)

if sys.argv[5] == '0':
    # moto feeds event source mappings itself on every SendMessage: it receives the messages (raising
    # their receive count, so good jobs reach the dead-letter queue) and fails to run the function
    # without Docker. The local cloud runs Lambda's pollers instead; the mappings stay stored and listed.
    def detached(cls):
        cls.lambda_event_source_mappings = property(lambda self: {}, lambda self, value: None)
    for module, name in (('moto.sqs.models', 'Queue'), ('moto.dynamodb.models.table', 'Table'), ('moto.kinesis.models', 'Stream')):
        try:
            detached(getattr(__import__(module, fromlist=[name]), name))
        except Exception as e:
            warn('detach event source mappings from ' + name, e)

# When a resource fails to create, moto answers CreateStack with an error and leaves the stack
# in CREATE_IN_PROGRESS without events. Record what CloudFormation would: a *_FAILED event for
# the resource with the reason, and the stack's failed status, so a failed deploy can say which
# resource failed and why.
try:
    from moto.cloudformation import parsing as cfn_parsing
    from moto.cloudformation.models import Event, cloudformation_backends

    def reason(e):
        text = getattr(e, 'message', None) or ' '.join(str(a) for a in getattr(e, 'args', ()) if a) or repr(e)
        return '%s: %s' % (type(e).__name__, text)

    def recording(original, action):
        def wrapper(logical_id, resource_json, resources_map, account_id, region_name):
            try:
                return original(logical_id, resource_json, resources_map, account_id, region_name)
            except Exception as e:
                try:
                    stack = cloudformation_backends[account_id][region_name].stacks[resources_map.stack_id]
                    stack.events.append(Event(stack.stack_id, stack.name, logical_id, '', resource_json.get('Type', ''),
                                              action + '_FAILED', reason(e), None))
                    stack.events.append(Event(stack.stack_id, stack.name, stack.name, stack.stack_id, 'AWS::CloudFormation::Stack',
                                              action + '_FAILED', 'The following resource(s) failed to %s: [%s].' % (action.lower(), logical_id), None))
                    stack.status = action + '_FAILED'
                except Exception:
                    pass
                raise
        return wrapper

    cfn_parsing.parse_and_create_resource = recording(cfn_parsing.parse_and_create_resource, 'CREATE')
    cfn_parsing.parse_and_update_resource = recording(cfn_parsing.parse_and_update_resource, 'UPDATE')
except Exception as e:
    warn('record failed CloudFormation resources as stack events', e)

# moto's CloudFormation has no SignalResource (it answers 500), and creates an Auto Scaling group
# without waiting for its instances' signals. Take a signal as CloudFormation records one: an event
# of the resource, "Received SUCCESS signal with UniqueId <instance id>" (a FAILURE does not roll
# back here: nothing waits). The local cloud sends one when a local instance's boot ends.
try:
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.cloudformation.models import Event as StackEvent
    from moto.core.responses import EmptyResult

    def signal_resource(self):
        stack_name = self._get_param('StackName')
        logical_id = self._get_param('LogicalResourceId')
        stack, resource = self.cloudformation_backend.describe_stack_resource(stack_name, logical_id)
        stack.events.append(StackEvent(
            stack.stack_id, stack.name, logical_id, getattr(resource, 'physical_resource_id', None) or '',
            getattr(resource, 'cf_resource_type', None) or '', stack.status,
            'Received %s signal with UniqueId %s' % (self._get_param('Status'), self._get_param('UniqueId')), None))
        return EmptyResult()
    CloudFormationResponse.signal_resource = signal_resource
except Exception as e:
    warn('take CloudFormation resource signals', e)

# moto's CloudFormation has no model of AWS::SecretsManager::Secret: it accepted the resource
# without creating it, so a policy or variable that refers to the secret came out without it.
# This model creates the secret in moto's Secrets Manager as CloudFormation does: Ref and
# Fn::GetAtt Id give its ARN, GenerateSecretString generates the value (with
# SecretStringTemplate and GenerateStringKey, a JSON document), and deleting the stack deletes it.
try:
    from moto.core.common_models import CloudFormationModel
    from moto.secretsmanager.models import secretsmanager_backends

    class CloudFormationSecret(CloudFormationModel):
        # moto files each model under the service named by its module.
        __module__ = 'moto.secretsmanager.cloudformation'

        def __init__(self, arn, name, account_id, region_name):
            self.arn = arn
            self.name = name
            self.account_id = account_id
            self.region_name = region_name

        @staticmethod
        def cloudformation_name_type():
            return 'Name'

        @staticmethod
        def cloudformation_type():
            return 'AWS::SecretsManager::Secret'

        @classmethod
        def has_cfn_attr(cls, attr):
            return attr == 'Id'

        @property
        def physical_resource_id(self):
            return self.arn

        def get_cfn_attribute(self, attribute_name):
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
            if attribute_name == 'Id':
                return self.arn
            raise UnformattedGetAttTemplateException()

        @staticmethod
        def secret_string(props, backend):
            if 'SecretString' in props:
                return props['SecretString']
            generate = props.get('GenerateSecretString')
            if generate is None:
                return None
            flag = lambda key, default=False: str(generate.get(key, default)).lower() == 'true'
            password = backend.get_random_password(
                password_length=int(generate.get('PasswordLength', 32)),
                exclude_characters=generate.get('ExcludeCharacters', ''),
                exclude_numbers=flag('ExcludeNumbers'),
                exclude_punctuation=flag('ExcludePunctuation'),
                exclude_uppercase=flag('ExcludeUppercase'),
                exclude_lowercase=flag('ExcludeLowercase'),
                include_space=flag('IncludeSpace'),
                require_each_included_type=flag('RequireEachIncludedType', True),
            )
            password = json.loads(password)['RandomPassword'] if password.startswith('{') else password
            template, key = generate.get('SecretStringTemplate'), generate.get('GenerateStringKey')
            if template is None or key is None:
                return password
            document = json.loads(template)
            document[key] = password
            return json.dumps(document)

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            props = cloudformation_json.get('Properties', {})
            backend = secretsmanager_backends[account_id][region_name]
            backend.create_secret(
                name=resource_name,
                secret_string=cls.secret_string(props, backend),
                secret_binary=None,
                description=props.get('Description'),
                tags=props.get('Tags'),
                kms_key_id=props.get('KmsKeyId'),
                client_request_token=None,
                replica_regions=props.get('ReplicaRegions') or [],
                force_overwrite=False,
            )
            return cls(backend.describe_secret(resource_name).arn, resource_name, account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            props = cloudformation_json.get('Properties', {})
            backend = secretsmanager_backends[account_id][region_name]
            # A generated value stays as it is, as in CloudFormation unless GenerateSecretString changes.
            if 'SecretString' in props or 'Description' in props:
                backend.update_secret(original_resource.arn, secret_string=props.get('SecretString'), description=props.get('Description'))
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            backend = secretsmanager_backends[account_id][region_name]
            try:
                backend.delete_secret(resource_name, None, True)
            except Exception:
                pass

        def is_created(self):
            return True
except Exception as e:
    warn('model AWS::SecretsManager::Secret in CloudFormation', e)

# CloudFormation resolves dynamic references ({{resolve:secretsmanager:...}}, {{resolve:ssm:...}},
# {{resolve:ssm-secure:...}}) in resource properties when it creates the resource; moto passes them
# on as text, so a function's variable or a database's password was the reference itself.
try:
    from moto.cloudformation import parsing as cfn_parsing_refs
    from moto.secretsmanager.models import secretsmanager_backends as secrets_backends
    from moto.ssm.models import ssm_backends

    DYNAMIC_REFERENCE = re.compile(r'\{\{resolve:(secretsmanager|ssm|ssm-secure):([^}]*)\}\}')

    def resolve_secret(reference, account_id, region_name):
        # secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]; the id may be an ARN.
        secret_id, _, rest = reference.partition(':SecretString')
        key, stage, version = (rest.lstrip(':').split(':') + ['', '', ''])[:3]
        value = secrets_backends[account_id][region_name].get_secret_value(secret_id, version or None, stage or None)['SecretString']
        return str(json.loads(value)[key]) if key else value

    def resolve_parameter(reference, account_id, region_name):
        name = reference.rsplit(':', 1)[0] if re.search(r':\d+$', reference) else reference
        parameter = ssm_backends[account_id][region_name].get_parameter(name)
        if parameter is None:
            raise ValueError('no SSM parameter %s' % name)
        return parameter.value

    def resolve_dynamic(text, resources_map):
        account_id, region_name = resources_map._account_id, resources_map._region_name
        def one(match):
            service, reference = match.group(1), match.group(2)
            return resolve_secret(reference, account_id, region_name) if service == 'secretsmanager' else resolve_parameter(reference, account_id, region_name)
        return DYNAMIC_REFERENCE.sub(one, text)

    original_clean_json = cfn_parsing_refs.clean_json

    def clean_json_resolving(resource_json, resources_map):
        cleaned = original_clean_json(resource_json, resources_map)
        if isinstance(cleaned, str) and '{{resolve:' in cleaned:
            return resolve_dynamic(cleaned, resources_map)
        return cleaned

    cfn_parsing_refs.clean_json = clean_json_resolving
except Exception as e:
    warn('resolve dynamic references ({{resolve:secretsmanager:...}}, {{resolve:ssm:...}}) in CloudFormation', e)

# moto backs up every table a TransactWriteItems names with a deep copy, to roll back a cancelled
# transaction, so each transaction costs as much as its tables are big (in a drill of a thousand jobs
# committing to one table, most of moto's time). Back up the items the transaction names instead:
# the same rollback, at the cost of the transaction. (Applied before the lock below, which then
# holds both the backup and the transaction.)
try:
    import copy as copy_module
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend as TransactingBackend
    from moto.dynamodb.models.table import Table as DynamoTable
    from moto.dynamodb.models.dynamo_type import DynamoType

    class TablesNotCopied:
        """moto.dynamodb.models' `copy`, except that a table is not deep-copied: its items are backed up below."""
        def __getattr__(self, name):
            return getattr(copy_module, name)

        def deepcopy(self, value, memo=None):
            return value if isinstance(value, DynamoTable) else copy_module.deepcopy(value, memo)

    def item_key(table, op):
        attrs = op.get('Item') if 'Item' in op else op.get('Key')
        if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
            return None
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in attrs:
                return None
            range_key = DynamoType(attrs[table.range_key_attr])
        return DynamoType(attrs[table.hash_key_attr]), range_key

    original_transact_write_items = TransactingBackend.transact_write_items

    def transact_write_items(self, transact_items):
        backups = []
        for entry in transact_items if isinstance(transact_items, list) else []:
            for op in entry.values() if isinstance(entry, dict) else []:
                table = self.tables.get(op.get('TableName')) if isinstance(op, dict) else None
                key = item_key(table, op) if table is not None else None
                if key is not None:
                    backups.append((table, key, copy_module.deepcopy(table.get_item(*key))))
        try:
            return original_transact_write_items(self, transact_items)
        except Exception:
            for table, (hash_key, range_key), item in reversed(backups):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                elif item is None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            raise
    dynamodb_models.copy = TablesNotCopied()
    TransactingBackend.transact_write_items = transact_write_items
except Exception as e:
    warn('roll back DynamoDB transactions by their items, not by copies of their tables', e)

# moto's DynamoDB checks a write's condition and applies the write in separate steps, and its
# server serves requests on threads, so two conditional writes of one item can both pass (a lost
# update that DynamoDB never allows: it applies each item operation atomically). One lock around
# moto's DynamoDB item operations restores that.
try:
    import functools
    from moto.dynamodb.models import DynamoDBBackend
    dynamodb_lock = threading.RLock()

    def atomic(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dynamodb_lock:
                return fn(*args, **kwargs)
        return wrapper
    for name in ('get_item', 'put_item', 'update_item', 'delete_item', 'query', 'scan', 'batch_get_item', 'batch_write_item',
                 'transact_get_items', 'transact_write_items', 'execute_transaction', 'batch_execute_statement'):
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
except Exception as e:
    warn('make DynamoDB item operations atomic', e)

# moto's S3 stores a PUT whose checksum header does not match its body (its code reads "TODO:
# AWS computes the provided value and verifies it's the same"), and a browser-form POST whatever
# its signed policy says. S3 refuses both: BadDigest (400) for the PUT, and for the POST
# EntityTooLarge or EntityTooSmall (400) outside the policy's content-length-range, AccessDenied
# (403) for a key outside its "starts-with $key" prefix or a policy past its expiration. So does
# the local cloud. Checked: SHA-256 and SHA-1 checksums sent as headers (a presigned PUT, an SDK
# PutObject with ChecksumSHA256); not checked: checksums in a trailer (aws-chunked uploads).
try:
    import base64, datetime, hashlib
    from moto.s3.responses import S3Response
    from moto.s3.exceptions import S3ClientError

    class S3Refusal(S3ClientError):
        def __init__(self, code, message, status):
            super().__init__(code, message)
            self.http_status = status

    def refused(error):
        return error.http_status, {'Content-Type': 'application/xml'}, (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>' % (error.code, error.message))

    def body_bytes(body):
        return body.encode() if isinstance(body, str) else (body or b'')

    original_put_object = S3Response.put_object

    def put_object(self):
        if not self.headers.get('x-amz-trailer'):
            for algorithm, digest in (('SHA256', hashlib.sha256), ('SHA1', hashlib.sha1)):
                given = self.headers.get('x-amz-checksum-' + algorithm.lower())
                if given and base64.b64encode(digest(body_bytes(self.body)).digest()).decode() != given:
                    return refused(S3Refusal('BadDigest', 'The %s you specified did not match the calculated checksum.' % algorithm, 400))
        return original_put_object(self)
    S3Response.put_object = put_object

    original_post = S3Response._bucket_response_post

    def form_field(form, name):
        for k, v in form.items():
            if k.lower() == name:
                return v[0] if isinstance(v, list) else v
        return None

    def policy_refusal(policy, key, size):
        expiration = policy.get('expiration')
        if expiration and datetime.datetime.fromisoformat(expiration.replace('Z', '+00:00')) < datetime.datetime.now(datetime.timezone.utc):
            return S3Refusal('AccessDenied', 'Invalid according to Policy: Policy expired.', 403)
        for c in policy.get('conditions', []):
            if isinstance(c, list) and len(c) == 3 and c[0] == 'content-length-range':
                if size > int(c[2]):
                    return S3Refusal('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400)
                if size < int(c[1]):
                    return S3Refusal('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', 400)
            if isinstance(c, list) and len(c) == 3 and c[0] == 'starts-with' and c[1] == '$key' and not (key or '').startswith(c[2]):
                return S3Refusal('AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "%s"]' % c[2], 403)
        return None

    def bucket_response_post(self, request, bucket_name):
        encoded = form_field(self.querystring, 'policy')
        if encoded and not self.is_delete_keys():
            error = policy_refusal(json.loads(base64.b64decode(encoded)), form_field(self.querystring, 'key'), len(body_bytes(self.body)))
            if error:
                return refused(error)
        return original_post(self, request, bucket_name)
    S3Response._bucket_response_post = bucket_response_post
except Exception as e:
    warn('check S3 checksums and POST policies as S3 does', e)

# moto's DynamoDB lexes every condition expression and every update expression anew on each
# request: about a tenth of a conditional write's CPU. An expression's tokens follow from its text
# alone (the names and values are substituted after), and the parsers only read them: lex each
# text once. At most 4,096 texts are kept (a client chooses them); then the cache starts over.
LEXED_TEXTS_KEPT = 4096
try:
    from collections import deque
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer

    def lexed_once(lex):
        lexed = {}

        # Requests run on threads: a text is looked up once (another thread may clear the cache
        # between a membership test and a read), and two threads lexing one text both get its tokens.
        def tokens(text):
            found = lexed.get(text)
            if found is None:
                found = tuple(lex(text))
                if len(lexed) >= LEXED_TEXTS_KEPT:
                    lexed.clear()
                lexed[text] = found
            return found
        return tokens

    original_lex_condition = ConditionExpressionParser._lex_condition_expression
    lex_condition = lexed_once(lambda text: original_lex_condition(ConditionExpressionParser(text, None, None)))
    tokenize_update = lexed_once(ExpressionTokenizer.make_list)
    ConditionExpressionParser._lex_condition_expression = lambda self: deque(lex_condition(self.condition_expression))
    ExpressionTokenizer.make_list = classmethod(lambda cls, text: list(tokenize_update(text)))
except Exception as e:
    warn('lex each DynamoDB expression once', e)

# werkzeug's development server, which moto's server runs on, ends every connection after one
# response ("Connection: close"), so every request costs a new TCP connection on both sides and a
# new thread here: about 0.5 ms of moto's CPU and as much of the client's, a third of a DynamoDB
# GetItem's cost. Serve HTTP/1.1 keep-alive connections instead, one thread per connection, with
# werkzeug's own request parsing and WSGI environment. What werkzeug's comment says it lacks for
# keep-alive is added: the application reads at most the request's body (Content-Length, or its
# chunks), whatever it leaves is read and dropped before the next request, a response the
# application sized wrongly ends its connection, and so does an error. A connection idle for
# IDLE_SECONDS is closed, as AWS closes idle connections (the SDKs retry on a closed one).
IDLE_SECONDS = 120
try:
    import io
    import moto.server as moto_server_module
    from werkzeug import serving

    class RequestBody(io.RawIOBase):
        """A request's body: at most its Content-Length bytes of the connection."""
        def __init__(self, rfile, length):
            self.rfile = rfile
            self.left = length

        def readable(self):
            return True

        def readinto(self, b):
            if self.left <= 0:
                return 0
            view = memoryview(b)[:min(len(b), self.left)]
            n = self.rfile.readinto(view)
            if not n:
                self.left = 0
                return 0
            self.left -= n
            return n

        def readline(self, limit=-1):
            if self.left <= 0:
                return b''
            limit = self.left if limit is None or limit < 0 else min(limit, self.left)
            line = self.rfile.readline(limit)
            self.left -= len(line)
            if not line:
                self.left = 0
            return line

        def drain(self):
            while self.left > 0 and self.read(min(self.left, 1 << 20)):
                pass

    class KeepAliveHandler(serving.WSGIRequestHandler):
        protocol_version = 'HTTP/1.1'
        disable_nagle_algorithm = True  # a response's head and body are written apart
        timeout = IDLE_SECONDS

        def run_wsgi(self):
            environ = self.environ = self.make_environ()
            if environ.get('wsgi.input_terminated'):
                body = environ['wsgi.input']  # werkzeug's reader of a chunked body
            else:
                try:
                    length = int(environ.get('CONTENT_LENGTH') or 0)
                except ValueError:
                    length = -1
                if length < 0:
                    self.close_connection = True
                    length = 0
                body = environ['wsgi.input'] = RequestBody(self.rfile, length)
            head_only = environ['REQUEST_METHOD'] == 'HEAD'
            state = {'status': None, 'headers': None, 'sent': False, 'chunked': False, 'declared': None, 'written': 0, 'code': 0}

            def write(data):
                if not state['sent']:
                    state['sent'] = True
                    code_text, _, reason = state['status'].partition(' ')
                    code = state['code'] = int(code_text)
                    self.send_response(code, reason)
                    for key, value in state['headers']:
                        self.send_header(key, value)
                        if key.lower() == 'content-length':
                            state['declared'] = int(value)
                    if state['declared'] is None and not (head_only or 100 <= code < 200 or code in (204, 304)):
                        if self.request_version >= 'HTTP/1.1':
                            state['chunked'] = True
                            self.send_header('Transfer-Encoding', 'chunked')
                        else:
                            self.close_connection = True  # an HTTP/1.0 client reads the body to the end of the connection
                    if self.close_connection:
                        self.send_header('Connection', 'close')
                    self.end_headers()
                if data and not head_only:
                    state['written'] += len(data)
                    if state['chunked']:
                        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
                    else:
                        self.wfile.write(data)

            def start_response(status, headers, exc_info=None):
                if exc_info:
                    try:
                        if state['sent']:
                            raise exc_info[1].with_traceback(exc_info[2])
                    finally:
                        exc_info = None
                state['status'], state['headers'] = status, headers
                return write

            def execute(app):
                result = app(environ, start_response)
                try:
                    for data in result:
                        write(data)
                    if not state['sent']:
                        write(b'')
                    if state['chunked']:
                        self.wfile.write(b'0\r\n\r\n')
                finally:
                    if hasattr(result, 'close'):
                        result.close()

            try:
                execute(self.server.app)
            except serving.connection_dropped_errors as e:
                self.close_connection = True
                self.connection_dropped(e, environ)
                return
            except Exception as e:
                self.close_connection = True
                if state['sent']:
                    return
                state['status'] = state['headers'] = None
                try:
                    execute(serving.InternalServerError())
                except Exception:
                    pass
                from werkzeug.debug.tbtools import DebugTraceback
                self.server.log('error', 'Error on request:\n%s' % DebugTraceback(e).render_traceback_text())
                return
            declared, code = state['declared'], state['code']
            if declared is not None and not head_only and not (100 <= code < 200 or code in (204, 304)) and state['written'] != declared:
                self.close_connection = True  # the next response would start inside this one
                return
            try:
                if isinstance(body, RequestBody):
                    body.drain()
                else:
                    while body.read(1 << 20):
                        pass
            except Exception:
                self.close_connection = True

    original_run_simple = moto_server_module.run_simple

    def run_simple(hostname, port, application, threaded=True, use_reloader=False, ssl_context=None, **options):
        if use_reloader or ssl_context is not None or options:
            return original_run_simple(hostname, port, application, threaded=threaded, use_reloader=use_reloader, ssl_context=ssl_context, **options)
        serving.make_server(hostname, port, application, threaded=True, request_handler=KeepAliveHandler).serve_forever()
    # What the handler uses of werkzeug: checked now, so that a werkzeug without it is said at start.
    missing = [name for name in ('connection_dropped_errors', 'InternalServerError', 'make_server') if not hasattr(serving, name)]
    missing += [name for name in ('make_environ', 'connection_dropped') if not hasattr(serving.WSGIRequestHandler, name)]
    if missing:
        raise AttributeError('werkzeug.serving has no %s' % ', '.join(missing))
    moto_server_module.run_simple = run_simple
except Exception as e:
    warn('keep HTTP connections open between requests', e)

from moto.server import main
main(['-H', sys.argv[1], '-p', port])
