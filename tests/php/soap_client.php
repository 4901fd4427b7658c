<?php
// Drives okapi's SOAP interface with PHP's own SoapClient (Debian: php-soap),
// built from the WSDL alone, the way a PHP groupware client would.
//
// Usage: php soap_client.php WSDL_URL USER PASSWORD
//
// Calls logon, getStore, getHierarchy on the root folder, saveObject of one
// message into the inbox, queryRows on the inbox with a sort and a content
// restriction, and loadObject with a bogus entry id (which must fail with a
// SoapFault). Prints what it saw as one JSON object on stdout; tests/soap_clients.rs
// checks it. Exits 1 with a message on stderr if anything unexpected happens.

if ($argc !== 4) {
    fwrite(STDERR, "usage: php soap_client.php WSDL_URL USER PASSWORD\n");
    exit(64);
}
[, $wsdl, $user, $password] = $argv;

// A list element that occurs once comes back as a single object, not as an
// array of one (unless SOAP_SINGLE_ELEMENT_ARRAYS is set); accept both.
function as_list($v): array
{
    if ($v === null) {
        return [];
    }
    return is_array($v) ? $v : [$v];
}

// The string value of a property in a Props structure, or null. Responses
// name tags in hex (0x0037001F); requests may use names (PR_SUBJECT).
function prop_string($props, string $hexTag): ?string
{
    if ($props === null) {
        return null;
    }
    foreach (as_list($props->prop ?? null) as $p) {
        if (strcasecmp($p->tag, $hexTag) === 0 && isset($p->s)) {
            return is_array($p->s) ? $p->s[0] : $p->s;
        }
    }
    return null;
}

const PR_SUBJECT = '0x0037001F';
const PR_SENDER_NAME = '0x0C1A001F';

$out = [];
try {
    $client = new SoapClient($wsdl, [
        'trace' => 1,
        'exceptions' => true,
        'cache_wsdl' => WSDL_CACHE_NONE,
    ]);

    $logon = $client->logon(['user' => $user, 'password' => $password]);
    $session = $logon->session;
    $out['session'] = $session;

    $store = $client->getStore(['session' => $session]);
    $out['root'] = $store->root;
    $out['inbox'] = $store->inbox;

    $hierarchy = $client->getHierarchy(['session' => $session, 'folder' => $store->root]);
    $out['hierarchy'] = array_map(
        fn($f) => $f->displayName,
        as_list($hierarchy->folders ?? null)
    );

    $subject = 'Grüße from PHP SoapClient & friends';
    $saved = $client->saveObject([
        'session' => $session,
        'folder' => $store->inbox,
        'props' => ['prop' => [
            ['tag' => 'PR_SUBJECT', 's' => $subject],
            ['tag' => 'PR_BODY', 's' => "Sent by tests/php/soap_client.php.\n"],
            ['tag' => 'PR_SENDER_NAME', 's' => 'PHP Tester'],
            ['tag' => 'PR_MESSAGE_DELIVERY_TIME', 't' => '2024-03-04T05:06:07Z'],
        ]],
    ]);
    $out['saved_subject'] = $subject;
    $out['saved_entry_id'] = $saved->entryId;

    $rows = $client->queryRows([
        'session' => $session,
        'folder' => $store->inbox,
        'columns' => ['PR_SUBJECT', 'PR_SENDER_NAME', 'PR_MESSAGE_DELIVERY_TIME'],
        'sort' => [['tag' => 'PR_MESSAGE_DELIVERY_TIME', 'descending' => true]],
        'restriction' => ['content' => ['tag' => 'PR_SUBJECT', 'value' => 'soapclient']],
        'offset' => 0,
        'limit' => 10,
    ]);
    $out['query_total'] = (int) $rows->total;
    $out['query_rows'] = array_map(
        fn($r) => [
            'entry_id' => $r->entryId,
            'subject' => prop_string($r->props ?? null, PR_SUBJECT),
            'sender_name' => prop_string($r->props ?? null, PR_SENDER_NAME),
        ],
        as_list($rows->rows ?? null)
    );

    try {
        $client->loadObject(['session' => $session, 'entryId' => 'not-an-entry-id']);
        $out['fault'] = null;
    } catch (SoapFault $f) {
        $out['fault'] = [
            'faultcode' => $f->faultcode,
            'faultstring' => $f->faultstring,
            'name' => $f->detail->mapiError->name ?? null,
            'code' => $f->detail->mapiError->code ?? null,
        ];
    }
} catch (Throwable $e) {
    fwrite(STDERR, get_class($e) . ': ' . $e->getMessage() . "\n");
    if (isset($client)) {
        fwrite(STDERR, "last request:\n" . $client->__getLastRequest() . "\n");
        fwrite(STDERR, "last response:\n" . $client->__getLastResponse() . "\n");
    }
    exit(1);
}

echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
